"""Built-in tasks: one module each in :mod:`seqforge.tasks`."""

from seqforge.hookspecs import hookimpl


@hookimpl
def register_tasks(register):
    from seqforge.tasks.anomaly import Anomaly
    from seqforge.tasks.classify import Classify
    from seqforge.tasks.forecast import Forecast
    from seqforge.tasks.generate_sequence import GenerateSequence
    from seqforge.tasks.language_model import LanguageModel
    from seqforge.tasks.regress import Regress
    from seqforge.tasks.seq2seq import Seq2Seq

    register("forecast", Forecast)
    register("classify", Classify)
    register("language_model", LanguageModel)
    register("seq2seq", Seq2Seq)
    register("anomaly", Anomaly)
    register("generate_sequence", GenerateSequence)
    register("regress", Regress)
