"""Built-in anomaly detection: the anomaly_series dataset, the autoencoder topology and
the anomaly task."""

from seqforge.hookspecs import hookimpl


@hookimpl
def register_datasets(register):
    from seqforge.data.anomaly import AnomalySeries

    register("anomaly_series", AnomalySeries)


@hookimpl
def register_topologies(register):
    from seqforge.topologies.autoencoder import Autoencoder

    register("autoencoder", Autoencoder)


@hookimpl
def register_tasks(register):
    from seqforge.tasks.anomaly import Anomaly

    register("anomaly", Anomaly)
