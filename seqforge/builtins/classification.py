"""Built-in sequence classification: the digits and text_csv datasets, the classify task."""

from seqforge.hookspecs import hookimpl


@hookimpl
def register_datasets(register):
    from seqforge.data.classification import Digits, TextCSV

    register("digits", Digits)
    register("text_csv", TextCSV)


@hookimpl
def register_tasks(register):
    from seqforge.tasks.classify import Classify

    register("classify", Classify)
