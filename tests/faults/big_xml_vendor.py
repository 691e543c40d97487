"""A legacy-xml vendor on loopback answering one page of any size, generated as it is sent (the
vendor itself holds no more than one team): `teams` real teams of a few guests each, padded with XML
comments to `body_bytes`, so a test can measure what the reader holds of a body that large."""

from __future__ import annotations

import hashlib

from devkit.sandbox.legacy_xml import NAMESPACE
from tests.loopback import Loopback, Streamed

HEAD = (f'<?xml version="1.0" encoding="GBK"?><Response xmlns="{NAMESPACE}"><Head><Code>0000</Code>'
        "<Msg>成功</Msg><Total>{total}</Total></Head><Body>")
TAIL = "</Body></Response>"
PAD = "<!--" + "x" * (1 << 16) + "-->"


def _team(i: int) -> str:
    guests = "".join(f"<Guest><XH>{n}</XH><XM>游客{n}</XM><XB>男</XB><CSRQ>19900101</CSRQ><ZJLX>身份证</ZJLX>"
                     f"<ZJHM>11010519491231002X</ZJHM><GJ>中国</GJ></Guest>" for n in range(1, 4))
    return (f"<Team><TDH>BIG{i:08d}</TDH><TDLX>国内游</TDLX><ZTSDM>91110000MA0000000X</ZTSDM><XLMC>线路</XLMC>"
            f"<CFRQ>20261001</CFRQ><FHRQ>20261003</FHRQ><RS>3</RS><ZT>正常</ZT><XGSJ>20261001080000</XGSJ>"
            f"<Guests>{guests}</Guests><Guides/></Team>")


class BigXmlVendor:
    def __init__(self, body_bytes: int, teams: int = 200):
        head = HEAD.format(total=teams).encode("gbk")
        tail = TAIL.encode("gbk")
        team_bytes = [_team(i).encode("gbk") for i in range(teams)]
        pad = PAD.encode("gbk")
        fill = body_bytes - len(head) - len(tail) - sum(map(len, team_bytes))
        pads, rest = divmod(max(fill, 0), len(pad))
        self.length = len(head) + len(tail) + sum(map(len, team_bytes)) + pads * len(pad) + rest
        self.requests = 0
        vendor = self

        def body():
            yield head
            every = max(1, pads // max(teams, 1))
            done = 0
            for i, team in enumerate(team_bytes):
                yield team
                for _ in range(min(every, pads - done) if i < teams - 1 else pads - done):
                    yield pad
                    done += 1
            yield b" " * rest
            yield tail

        digest = hashlib.sha256()
        for chunk in body():
            digest.update(chunk)
        self.sha256 = digest.hexdigest()  # of the body as served: the landed raw file must hash the same

        def answer(path: str, headers: object) -> tuple[int, Streamed, str]:
            vendor.requests += 1
            return 200, Streamed(vendor.length, body), "text/xml; charset=GBK"

        self._loopback = Loopback(answer)
        self.url = self._loopback.url

    def close(self) -> None:
        self._loopback.stop()
