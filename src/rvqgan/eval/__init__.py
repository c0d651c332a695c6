"""Evaluation: metrics, baselines through real encoders, resumable runs, reports, plots
and a listening page. Never imported by inference code.

Example::

    from rvqgan.eval import EvalOptions, OpusCodec, ModelCodec, load_testset, run_evaluation

    clips = load_testset("data/testset/manifest.jsonl", limit=20)
    rows, files = run_evaluation(clips, [OpusCodec([6, 24]), ModelCodec(model)], "eval_out")
"""

from rvqgan.eval.baselines import Mp3Codec, OpusCodec
from rvqgan.eval.codecs import Coded, CodingRun, EvalCodec, ModelCodec, Setting, align, find_delay
from rvqgan.eval.metrics import METRICS, MetricSuite, si_sdr
from rvqgan.eval.pipeline import run_evaluation, write_outputs
from rvqgan.eval.report import mean_ci, summarize
from rvqgan.eval.runner import EvalOptions, evaluate
from rvqgan.eval.specs import parse_codec_spec
from rvqgan.eval.testset import Clip, load_testset, read_clip
from rvqgan.eval.usage import CodeUsage, bitrate_efficiency, code_histogram, entropy_bits, utilization

__all__ = [
    "METRICS",
    "Clip",
    "CodeUsage",
    "Coded",
    "CodingRun",
    "EvalCodec",
    "EvalOptions",
    "MetricSuite",
    "ModelCodec",
    "Mp3Codec",
    "OpusCodec",
    "Setting",
    "align",
    "bitrate_efficiency",
    "code_histogram",
    "entropy_bits",
    "evaluate",
    "find_delay",
    "load_testset",
    "mean_ci",
    "parse_codec_spec",
    "read_clip",
    "run_evaluation",
    "si_sdr",
    "summarize",
    "utilization",
    "write_outputs",
]
