"""Built-in one-to-many generation: the waveforms and number_spelling datasets and the
generate_sequence task."""

from seqforge.hookspecs import hookimpl


@hookimpl
def register_datasets(register):
    from seqforge.data.spellings import NumberSpelling
    from seqforge.data.waveforms import Waveforms

    register("waveforms", Waveforms)
    register("number_spelling", NumberSpelling)


@hookimpl
def register_tasks(register):
    from seqforge.tasks.sequence_generation import GenerateSequence

    register("generate_sequence", GenerateSequence)
