"""rvqgan: Improved RVQGAN neural audio codec."""
