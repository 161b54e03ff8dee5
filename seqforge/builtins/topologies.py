"""Built-in topologies: the five shapes of the classic RNN diagram, and the sequence
autoencoder."""

from seqforge.hookspecs import hookimpl


@hookimpl
def register_topologies(register):
    from seqforge.topologies.autoencoder import Autoencoder
    from seqforge.topologies.encoder_decoder import EncoderDecoder
    from seqforge.topologies.many_to_many import ManyToMany
    from seqforge.topologies.many_to_one import ManyToOne
    from seqforge.topologies.one_to_many import OneToMany
    from seqforge.topologies.one_to_one import OneToOne

    register("one_to_one", OneToOne)
    register("one_to_many", OneToMany)
    register("many_to_one", ManyToOne)
    register("many_to_many", ManyToMany)
    register("encoder_decoder", EncoderDecoder)
    register("autoencoder", Autoencoder)
