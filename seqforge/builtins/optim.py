"""Built-in optimizers and LR schedulers."""

from seqforge.hookspecs import hookimpl


@hookimpl
def register_optimizers(register):
    from seqforge import optim

    register("sgd", optim.SGD)
    register("adam", optim.Adam)
    register("adamw", optim.AdamW)
    register("rmsprop", optim.RMSprop)


@hookimpl
def register_schedulers(register):
    from seqforge import optim

    register("step", optim.StepLR)
    register("cosine", optim.Cosine)
    register("reduce_on_plateau", optim.ReduceOnPlateau)
