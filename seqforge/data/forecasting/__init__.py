"""Forecasting windows shared by the series datasets: their spec keys (:mod:`.params`),
series → items (:mod:`.prepare`) and model outputs → the data's units (:mod:`.invert`)."""
