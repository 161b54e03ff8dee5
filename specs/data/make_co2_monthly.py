"""Writes co2_monthly.csv: monthly mean atmospheric CO2 at Mauna Loa, March 1958 –
December 2001 (526 months, ppm), from the weekly series statsmodels ships
(``statsmodels.datasets.co2``; C. D. Keeling, T. P. Whorf and the Carbon Dioxide Research
Group, Scripps Institution of Oceanography — public domain). Weeks with no reading
(61 of 2284) are interpolated linearly before the monthly mean is taken, as in
statsmodels' own examples.

Run: python specs/data/make_co2_monthly.py   (needs statsmodels; the CSV is committed)
"""

from pathlib import Path

from statsmodels.datasets import co2

weekly = co2.load_pandas().data["co2"].interpolate()
monthly = weekly.resample("MS").mean()
out = Path(__file__).with_name("co2_monthly.csv")
with out.open("w") as fh:
    fh.write("month,co2\n")
    for day, value in monthly.items():
        fh.write(f"{day:%Y-%m},{value:.3f}\n")
print(f"wrote {out}: {len(monthly)} months, {monthly.index[0]:%Y-%m} to {monthly.index[-1]:%Y-%m}")
