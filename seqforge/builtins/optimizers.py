"""Built-in optimizers."""

from seqforge.hookspecs import hookimpl


@hookimpl
def register_optimizers(register):
    from seqforge import optim

    register("sgd", optim.SGD)
    register("adam", optim.Adam)
    register("adamw", optim.AdamW)
    register("rmsprop", optim.RMSprop)
