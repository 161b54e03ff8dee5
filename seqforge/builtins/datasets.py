"""Built-in datasets: one module each in :mod:`seqforge.data.sources`."""

from seqforge.hookspecs import hookimpl


@hookimpl
def register_datasets(register):
    from seqforge.data.sources.adding import Adding
    from seqforge.data.sources.anomaly_series import AnomalySeries
    from seqforge.data.sources.copy import Copy
    from seqforge.data.sources.digits import Digits
    from seqforge.data.sources.labelled_series import LabelledSeries
    from seqforge.data.sources.number_spelling import NumberSpelling
    from seqforge.data.sources.seq2seq import Seq2SeqDataset
    from seqforge.data.sources.sequential_digits import SequentialDigits
    from seqforge.data.sources.text import TextLM
    from seqforge.data.sources.text_csv import TextCSV
    from seqforge.data.sources.timeseries_csv import TimeseriesCSV
    from seqforge.data.sources.waveforms import Waveforms

    register("timeseries_csv", TimeseriesCSV)
    register("digits", Digits)
    register("text_csv", TextCSV)
    register("text", TextLM)
    register("seq2seq", Seq2SeqDataset)
    register("anomaly_series", AnomalySeries)
    register("waveforms", Waveforms)
    register("number_spelling", NumberSpelling)
    register("labelled_series", LabelledSeries)
    register("adding", Adding)
    register("copy", Copy)
    register("sequential_digits", SequentialDigits)
