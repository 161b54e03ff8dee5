"""Built-in plugins: every module here is registered as an internal plugin, through the
same hooks a third-party package uses (see :mod:`seqforge.plugins`)."""
