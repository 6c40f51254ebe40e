"""Beijing PM2.5 data (UCI "PRSA"), preprocessed as in the textbook's sections 19.4/19.6.

The raw hourly file (2010-01-01 00h .. 2014-12-31 23h, 43,824 rows) ships gzipped in
``data/``. :func:`preprocess` turns it into the arrays of the book's
``ch19_pm25_train.npz`` / ``ch19_pm25_test.npz``, value for value. Each row has 6 features:

    [pm2.5, DEWP, TEMP, PRES, cbwd code, Iws]

- pm2.5: missing values (``NA``) are linearly interpolated between the nearest known hours;
  the NAs at the very start are interpolated from a virtual 0 one hour before the first row.
  Interpolation runs over the whole 5-year series, so it ignores the train/test boundary.
- cbwd (wind direction) is coded cv=0, NE=3, SE=6, NW=9, SW=12 (SW never occurs in the file).
- Iws (wind speed) is cumulative while the direction stays the same. It is de-accumulated:
  the hour's value minus the previous hour's when the direction is unchanged, else the value
  itself (the first row is kept as is). This is also done over the whole series, so the first
  hour of 2014 is a difference from the last hour of 2013.

The label of an hour is the pm2.5 of the next hour, again over the whole series: the last
training label is the first hour of 2014. The final hour has no successor, so its label is
extrapolated as ``2*x[-1] - x[-2]``. Train is 2010-2013 (35,064 rows), test is 2014 (8,760).
Nothing is normalized.
"""

import csv
import gzip
import io
from importlib import resources

import numpy as np

RAW_FILE = "data/PRSA_data_2010.1.1-2014.12.31.csv.gz"
WIND_CODES = {"cv": 0, "NE": 3, "SE": 6, "NW": 9, "SW": 12}
TRAIN_ROWS = 35064  # 2010-01-01 00h .. 2013-12-31 23h; the 8,760 hours of 2014 follow


def load_raw() -> list[dict[str, str]]:
    """The raw UCI rows as dicts keyed by the header (``No,year,month,day,hour,pm2.5,...``)."""
    packed = resources.files("minigrad_plugins.tasks").joinpath(RAW_FILE).read_bytes()
    text = gzip.decompress(packed).decode("ascii")
    return list(csv.DictReader(io.StringIO(text)))


def parse_number(text: str) -> float:
    """Parse a plain decimal like the legacy pandas CSV reader (pandas < 1.3) that made the book's files.

    That reader takes the digits as an integer and divides by powers of ten built by squaring
    (10, 1e2, 1e4, 1e8, ...), one per set bit of the number of decimals. For short fields this
    equals ``float(text)``; of the 43,824 rows only TEMP ``9.333333333`` (2014-11-03 20h)
    comes out one ulp different, and the reference arrays keep that value.
    """
    whole, _, decimals = text.partition(".")
    value = float(int(whole + decimals))  # sign included; at most 10 digits here, so exact
    n, power = len(decimals), 10.0
    while n:
        if n & 1:
            value /= power
        n, power = n >> 1, power * power
    return value


def interpolate_missing(values: np.ndarray) -> np.ndarray:
    """Fill each run of NaNs on the straight line between its known neighbours.

    A run at the very start begins from a virtual 0 at index -1. As in the book, the filled
    values are built by repeated addition of the step (``a + step``, ``+ step``, ...) rather
    than ``a + k * step``, which makes them equal to the reference bit for bit.
    """
    out = values.copy()
    missing = np.isnan(out)
    if missing[-1]:
        raise ValueError("cannot interpolate trailing missing values")
    i = 0
    while i < len(out):
        if not missing[i]:
            i += 1
            continue
        end = i + np.argmin(missing[i:])  # first known index after the run
        start_value = out[i - 1] if i > 0 else 0.0
        step = (out[end] - start_value) / (end - i + 1)
        out[i:end] = np.cumsum(np.r_[start_value + step, np.full(end - i - 1, step)])
        i = end
    return out


def deaccumulate(speed: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Undo Iws's running sum: subtract the previous hour's value while the direction is unchanged."""
    out = speed.copy()
    same = direction[1:] == direction[:-1]
    out[1:][same] = speed[1:][same] - speed[:-1][same]
    return out


def preprocess(rows=None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(train_x, train_y, test_x, test_y)``: float64 arrays of shapes (35064, 6), (35064, 1),
    (8760, 6), (8760, 1), equal to the textbook's reference npz files."""
    rows = load_raw() if rows is None else rows
    pm = np.array([np.nan if r["pm2.5"] == "NA" else parse_number(r["pm2.5"]) for r in rows])
    direction = np.array([WIND_CODES[r["cbwd"]] for r in rows], dtype=np.float64)
    speed = np.array([parse_number(r["Iws"]) for r in rows])
    pm = interpolate_missing(pm)
    x = np.column_stack([
        pm,
        [parse_number(r["DEWP"]) for r in rows],
        [parse_number(r["TEMP"]) for r in rows],
        [parse_number(r["PRES"]) for r in rows],
        direction,
        deaccumulate(speed, direction),
    ])
    y = np.append(pm[1:], 2 * pm[-1] - pm[-2]).reshape(-1, 1)
    return x[:TRAIN_ROWS], y[:TRAIN_ROWS], x[TRAIN_ROWS:], y[TRAIN_ROWS:]
