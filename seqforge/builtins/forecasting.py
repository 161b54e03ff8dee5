"""Built-in forecasting: the timeseries_csv dataset and the forecast task."""

from seqforge.hookspecs import hookimpl


@hookimpl
def register_datasets(register):
    from seqforge.data.timeseries import TimeseriesCSV

    register("timeseries_csv", TimeseriesCSV)


@hookimpl
def register_tasks(register):
    from seqforge.tasks.forecast import Forecast

    register("forecast", Forecast)
