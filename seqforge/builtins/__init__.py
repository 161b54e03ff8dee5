"""Built-in plugins, one module per kind of component: every module here is registered as
an internal plugin, through the same hooks a third-party package uses (see
:mod:`seqforge.plugins`). Component modules are imported inside the hooks, so importing
these (which ``seqforge --help`` does) stays cheap."""
