"""Where synthetic people live: LSOAs grouped by Sub-ICB location and ICB.

People are registered with a practice in a Sub-ICB location and mostly live
in that location: 92% in one of its LSOAs, 5.5% in any LSOA of the same ICB
(the same location or a neighbouring one) and 2.5% anywhere in England, so
about 95% live in their practice's location.  Within each choice
every LSOA is equally likely (LSOAs were drawn to hold similar numbers of
residents), so each local authority's expected share of people is its share
of LSOAs.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from ndoo import geography
from ndoo.synth.streams import Uniforms

Index = npt.NDArray[np.int64]

SAME_LOCATION = 0.92
SAME_ICB = 0.055


def _codes(values: pa.ChunkedArray) -> tuple[pa.Array, Index]:
    """Distinct sorted codes and each value's position among them."""
    distinct = pc.unique(values).sort()
    return distinct, np.asarray(pc.index_in(values, value_set=distinct), dtype=np.int64)


def _groups(keys: Index, count: int) -> tuple[Index, Index, Index]:
    """Members ordered by key, with each key's first position and size."""
    order = np.argsort(keys, kind="stable").astype(np.int64)
    sizes = np.bincount(keys, minlength=count).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return order, starts, sizes


@dataclass(frozen=True, eq=False)
class Areas:
    """Index arrays over the geography lookups; codes are Arrow string arrays."""

    lsoa_codes: pa.Array
    lsoa_names: pa.Array
    lsoa_la: Index
    sub_icb_codes: pa.Array
    sub_icb_icb: Index
    sub_icb_region: Index
    sub_icb_lsoas: tuple[Index, Index, Index]
    icb_lsoas: tuple[Index, Index, Index]
    la_codes: pa.Array
    la_region: Index
    region_codes: pa.Array

    @property
    def lsoa_count(self) -> int:
        return len(self.lsoa_codes)

    def lsoas_per_sub_icb(self) -> Index:
        return self.sub_icb_lsoas[2]

    def lsoas_per_la(self) -> Index:
        return np.bincount(self.lsoa_la, minlength=len(self.la_codes)).astype(np.int64)

    def draw_residence(self, sub_icb: Index, u_where: Uniforms, u_which: Uniforms) -> Index:
        """An LSOA for each person registered in ``sub_icb`` (index), from two uniforms."""
        icb = self.sub_icb_icb[sub_icb]
        order, starts, sizes = self.sub_icb_lsoas
        local = order[starts[sub_icb] + (u_which * sizes[sub_icb]).astype(np.int64)]
        order, starts, sizes = self.icb_lsoas
        nearby = order[starts[icb] + (u_which * sizes[icb]).astype(np.int64)]
        anywhere = (u_which * self.lsoa_count).astype(np.int64)
        lsoa: Index = np.where(
            u_where < SAME_LOCATION,
            local,
            np.where(u_where < SAME_LOCATION + SAME_ICB, nearby, anywhere),
        )
        return lsoa


@functools.cache
def areas() -> Areas:
    """The index arrays, built once from :mod:`ndoo.geography`."""
    subs = geography.sub_icb_locations()
    lsoas = geography.lsoas()
    sub_codes, _ = _codes(subs["SUB_ICB_LOCATION_CODE"])
    sub_of_row = np.asarray(
        pc.index_in(subs["SUB_ICB_LOCATION_CODE"], value_set=sub_codes), dtype=np.int64
    )
    icb_codes, icb_of_row = _codes(subs["ICB_CODE"])
    region_codes, region_of_row = _codes(subs["COMM_REGION_CODE"])
    sub_icb_icb = np.empty(len(sub_codes), dtype=np.int64)
    sub_icb_icb[sub_of_row] = icb_of_row
    sub_icb_region = np.empty(len(sub_codes), dtype=np.int64)
    sub_icb_region[sub_of_row] = region_of_row

    lsoa_codes = lsoas["LSOA_CODE"].combine_chunks()
    lsoa_sub = np.asarray(
        pc.index_in(lsoas["SUB_ICB_LOCATION_CODE"], value_set=sub_codes), dtype=np.int64
    )
    la_codes, lsoa_la = _codes(lsoas["LA_CODE"])
    _, first_lsoa = np.unique(lsoa_la, return_index=True)
    la_region = sub_icb_region[lsoa_sub[first_lsoa]]
    return Areas(
        lsoa_codes=lsoa_codes,
        lsoa_names=lsoas["LSOA_NAME"].combine_chunks(),
        lsoa_la=lsoa_la,
        sub_icb_codes=sub_codes,
        sub_icb_icb=sub_icb_icb,
        sub_icb_region=sub_icb_region,
        sub_icb_lsoas=_groups(lsoa_sub, len(sub_codes)),
        icb_lsoas=_groups(sub_icb_icb[lsoa_sub], len(icb_codes)),
        la_codes=la_codes,
        la_region=la_region,
        region_codes=region_codes,
    )
