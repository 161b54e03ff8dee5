"""Built-in learning-rate schedulers."""

from seqforge.hookspecs import hookimpl


@hookimpl
def register_schedulers(register):
    from seqforge import optim

    register("step", optim.StepLR)
    register("cosine", optim.Cosine)
    register("reduce_on_plateau", optim.ReduceOnPlateau)
    register("warmup", optim.Warmup)
