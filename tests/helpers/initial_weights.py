"""Print every initial weight of a few models (seeded by nalu.build) as a JSON list; run by
test_portability.py under each kernel level."""

import json
from functools import partial

import nalu
from nalu import recurrent

factories = [partial(nalu.two_layer, a, b, 100, 2, 1)
             for a, b in [("nau", "nmu"), ("nalu", "nalu"), ("nac", "nac"), ("linear", "linear"), ("inalu", "realnpu")]]
factories += [partial(nalu.MLP, 3, 2, hidden=(5,)), partial(recurrent.LSTMCell, 4, 8)]
print(json.dumps([float(v) for f in factories for p in nalu.build(f, 3).parameters() for v in p.detach().flatten()]))
