"""transform/encode: RFC 4648, Bitcoin base58, RFC 3492 punycode and other known answers, both
directions, charsets, and the error paths."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest

from devutils.tools._escapes import EscapeError, unescape
from devutils.tools.textcodec import MAX_BASE58_BYTES, MAX_BASE58_CHARS


def _latin1(hex_bytes: str) -> str:
    """Bytes as text in latin-1 (U+0000-U+00FF are the bytes 0-255)."""
    return bytes.fromhex(hex_bytes).decode("latin-1")


async def _encode(
    client: httpx.AsyncClient, content: str, codec: str, direction: str, **extra: Any
) -> httpx.Response:
    body = {"content": content, "codec": codec, "direction": direction, **extra}
    return await client.post("/api/v1/transform/encode", json=body)


RFC4648 = [("", "", ""), ("f", "MY======", "CO======"), ("fo", "MZXQ====", "CPNG====")]
RFC4648 += [("foo", "MZXW6===", "CPNMU==="), ("foob", "MZXW6YQ=", "CPNMUOG=")]
RFC4648 += [("fooba", "MZXW6YTB", "CPNMUOJ1"), ("foobar", "MZXW6YTBOI======", "CPNMUOJ1E8======")]

# Bitcoin Core's base58_encode_decode.json (hex bytes, base58).
BASE58 = [
    ("", ""),
    ("61", "2g"),
    ("626262", "a3gV"),
    ("636363", "aPEr"),
    ("73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2"),
    ("00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"),
    ("516b6fcd0f", "ABnLTmg"),
    ("bf4f89001e670274dd", "3SEo3LWLoPntC"),
    ("572e4794", "3EFU7m"),
    ("ecac89cad93923c02321", "EJDM8drfXA6uyA"),
    ("10c8511e", "Rt5zm"),
    ("00000000000000000000", "1111111111"),
]

# RFC 3492 section 7.1 samples (lower-cased where the RFC shows mixed-case annotations).
PUNYCODE = [
    ("A-arabic", "ليهمابتكلموشعربي؟", "egbpdaj6bu4bxfgehfvwxn"),
    ("B-chinese-simplified", "他们为什么不说中文", "ihqwcrb4cv8a8dqg056pqjye"),
    ("L-mixed", "3年B組金八先生", "3B-ww4c5e180e575a65lsy2b"),
    ("S-ascii", "-> $1.00 <-", "-> $1.00 <--"),
    ("word", "bücher", "bcher-kva"),
]

KNOWN = [
    *[(f"base32-{text or 'empty'}", "base32", text, b32, None) for text, b32, _ in RFC4648],
    *[(f"base32hex-{text or 'empty'}", "base32hex", text, b32h, None) for text, _, b32h in RFC4648],
    ("base16-foobar", "hex", "foobar", "666f6f626172", None),
    *[
        (f"base58-{encoded or 'empty'}", "base58", _latin1(raw), encoded, "latin-1")
        for raw, encoded in BASE58
    ],
    *[(f"punycode-{name}", "punycode", text, encoded, None) for name, text, encoded in PUNYCODE],
    ("idna-domain", "idna", "bücher.example", "xn--bcher-kva.example", None),
    ("base85-git-alphabet", "base85", "Hello", "NM&qnZv", None),
    ("ascii85-wikipedia", "ascii85", "Man ", "9jqo^", None),
    ("ascii85-zeros", "ascii85", "\0\0\0\0", "z", None),
    (
        "html",
        "html",
        "<a href='x'>Tom & \"Jerry\"</a>",
        "&lt;a href=&#x27;x&#x27;&gt;Tom &amp; &quot;Jerry&quot;&lt;/a&gt;",
        None,
    ),
    ("unicode-bmp-and-astral", "unicode", "hé 😀\\", "h\\u00e9 \\U0001f600\\\\", None),
    ("json-string", "json", 'say "hi"\n\t\u0001', '"say \\"hi\\"\\n\\t\\u0001"', None),
    ("quoted-printable", "quoted-printable", "Héllo = world", "H=C3=A9llo =3D world", None),
    ("url-component", "url", "a b/c?d=é&~", "a%20b%2Fc%3Fd%3D%C3%A9%26~", None),
    ("hex-utf16le", "hex", "Aé", "4100e900", "utf-16le"),
    ("hex-utf16be", "hex", "Aé", "004100e9", "utf-16be"),
    ("hex-utf32le", "hex", "😀", "00f60100", "utf-32le"),
    ("hex-cp1252-euro", "hex", "€", "80", "cp1252"),
    ("hex-latin1", "hex", "é", "e9", "latin-1"),
]


@pytest.mark.parametrize(
    ("codec", "text", "encoded", "charset"),
    [row[1:] for row in KNOWN],
    ids=[row[0] for row in KNOWN],
)
async def test_known_answers_both_ways(
    client: httpx.AsyncClient, codec: str, text: str, encoded: str, charset: str | None
) -> None:
    extra = {"charset": charset} if charset else {}
    response = await _encode(client, text, codec, "encode", **extra)
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"result": encoded, "isBinary": False, "resultBase64": None}
    response = await _encode(client, encoded, codec, "decode", **extra)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["result"] == text


@pytest.mark.parametrize(
    ("codec", "encoded", "text"),
    [
        ("hex", "66 6F\n6f", "foo"),
        ("base32", "mzxw6ytboi", "foobar"),
        ("base32hex", "cpnmuoj1e8", "foobar"),
        ("ascii85", '<~87cURD]i,"Ebo80~>', "Hello World!"),
        ("ascii85", '87cURD]i,\n"Ebo80', "Hello World!"),
        ("url", "a+b%2b", "a+b+"),
        ("html", "&eacute;&#233;&#xE9;&amp", "ééé&"),
        ("unicode", "\\ud83d\\ude00 \\x41 \\u{1F600} \\n", "😀 A 😀 \n"),
        ("json", '"quoted \\u00e9"', "quoted é"),
        ("json", "unquoted \\u00e9", "unquoted é"),
        ("json", "  two\\tspaces ", "  two\tspaces "),
        ("json", ' \r\n"  two\\tspaces " \t', "  two\tspaces "),
        ("quoted-printable", "soft=\nbreak", "softbreak"),
        ("idna", "xn--bcher-kva.example", "bücher.example"),
    ],
    ids=[
        "hex-spaces-and-case",
        "base32-lower-unpadded",
        "base32hex-lower-unpadded",
        "ascii85-adobe-framing",
        "ascii85-whitespace",
        "url-plus-is-literal",
        "html-named-and-numeric",
        "unicode-surrogate-pair-and-forms",
        "json-quoted",
        "json-unquoted",
        "json-unquoted-keeps-its-spaces",
        "json-quoted-in-json-whitespace",
        "qp-soft-line-break",
        "idna-decode",
    ],
)
async def test_lenient_decoding(
    client: httpx.AsyncClient, codec: str, encoded: str, text: str
) -> None:
    response = await _encode(client, encoded, codec, "decode")
    assert response.status_code == 200, response.text
    assert response.json()["data"]["result"] == text


async def test_idna_maps_case_uts46(client: httpx.AsyncClient) -> None:
    response = await _encode(client, "BÜCHER.example", "idna", "encode")
    assert response.json()["data"]["result"] == "xn--bcher-kva.example"


async def test_binary_results_are_flagged(client: httpx.AsyncClient) -> None:
    response = await _encode(client, "00ff", "hex", "decode")
    assert response.json()["data"] == {
        "result": "\0\ufffd",
        "isBinary": True,
        "resultBase64": "AP8=",
    }
    # cp1252 leaves 0x81 undefined; latin-1 defines every byte.
    response = await _encode(client, "81", "hex", "decode", charset="cp1252")
    assert response.json()["data"]["isBinary"] is True
    response = await _encode(client, "81", "hex", "decode", charset="latin-1")
    assert response.json()["data"] == {"result": "\x81", "isBinary": False, "resultBase64": None}


_ONE_CHAR_GROUP = "incorrect length: a final group of 1 character"


@pytest.mark.parametrize(
    ("content", "codec", "direction", "extra", "details"),
    [
        ("zz", "hex", "decode", {}, "content: invalid hex: non-hexadecimal number found"),
        ("abc", "hex", "decode", {}, "content: invalid hex"),
        ("MZXW6YQ1", "base32", "decode", {}, "content: invalid base32"),
        ("1!", "base32hex", "decode", {}, "content: invalid base32hex"),
        ("0OIl", "base58", "decode", {}, "content: invalid base58"),
        ("~~~~", "base85", "decode", {}, "content: invalid base85"),
        ("{", "ascii85", "decode", {}, "content: invalid ascii85"),
        ("é=", "quoted-printable", "decode", {}, "content: invalid quoted-printable"),
        ("a%zz", "url", "decode", {}, "content: invalid URL escape '%zz'"),
        ("\\ud83d", "unicode", "decode", {}, "content: invalid escape: lone surrogate"),
        ("\\ud83dx", "unicode", "decode", {}, "content: invalid escape: lone surrogate"),
        ("\\q", "unicode", "decode", {}, "content: invalid escape: unknown escape \\q"),
        ("tail\\", "unicode", "decode", {}, "content: invalid escape: trailing backslash"),
        ("\\U00110000", "unicode", "decode", {}, "content: invalid escape: invalid code point"),
        ('"open', "json", "decode", {}, "content: invalid JSON string"),
        ('\u00a0"x"', "json", "decode", {}, "content: invalid JSON string"),
        ("é", "punycode", "decode", {}, "content: invalid punycode"),
        *[
            (puny, "punycode", "decode", {}, "content: invalid punycode: '-' at offset 0")
            for puny in ("-3ya", "-", "-abc")
        ],
        *[
            (text, codec, "decode", {}, f"content: invalid {codec}: {_ONE_CHAR_GROUP}")
            for text, codec in [
                ("0", "base85"),
                ("000000", "base85"),
                ("z0", "ascii85"),
                ("9jqo^\n0", "ascii85"),
                ("<~9jqo^ 0~>", "ascii85"),
            ]
        ],
        (
            "café",
            "url",
            "decode",
            {"charset": "ascii"},
            "content: character 'é' at offset 3 has no ascii encoding",
        ),
        (
            "a%E9€",
            "url",
            "decode",
            {"charset": "latin-1"},
            "content: character '€' at offset 4 has no latin-1 encoding",
        ),
        ("a..b", "idna", "encode", {}, "content: invalid IDNA domain name"),
        ("€", "hex", "encode", {"charset": "latin-1"}, "content: character '€' has no latin-1"),
        ("é", "base32", "encode", {"charset": "ascii"}, "content: character 'é' has no ascii"),
        ("x", "html", "encode", {"charset": "latin-1"}, "charset: does not apply to the html"),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 20 else None,
)
async def test_bad_input_is_a_named_400(
    client: httpx.AsyncClient,
    content: str,
    codec: str,
    direction: str,
    extra: dict[str, Any],
    details: str,
) -> None:
    response = await _encode(client, content, codec, direction, **extra)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["message"] == "Encoding failed"
    assert error["details"].startswith(details)


@pytest.mark.parametrize(
    "body",
    [
        {"content": "x", "codec": "rot13", "direction": "encode"},
        {"content": "x", "codec": "hex", "direction": "sideways"},
        {"content": "x", "codec": "hex", "direction": "encode", "charset": "ebcdic"},
        {"content": "x", "codec": "hex"},
    ],
    ids=["unknown-codec", "unknown-direction", "unknown-charset", "missing-direction"],
)
async def test_binding_errors(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await client.post("/api/v1/transform/encode", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_base58_is_capped_because_it_is_quadratic(client: httpx.AsyncClient) -> None:
    fits = "a" * MAX_BASE58_BYTES
    response = await _encode(client, fits, "base58", "encode")
    assert response.status_code == 200
    assert (await _encode(client, response.json()["data"]["result"], "base58", "decode")).json()[
        "data"
    ]["result"] == fits
    response = await _encode(client, fits + "a", "base58", "encode")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "REQUEST_TOO_LARGE"
    response = await _encode(client, "2" * (MAX_BASE58_CHARS + 1), "base58", "decode")
    assert response.status_code == 413


async def test_output_cap(make_app: Any) -> None:
    app = make_app(max_output_bytes=1024)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            assert (await _encode(http, "a" * 512, "hex", "encode")).status_code == 200
            response = await _encode(http, "a" * 513, "hex", "encode")
            assert response.status_code == 413
            assert response.json()["error"]["details"] == (
                "output would exceed 1 KiB (MAX_OUTPUT_BYTES)"
            )
            response = await _encode(http, "é" * 200, "unicode", "encode")
            assert response.status_code == 413


async def test_round_trip_of_every_byte(client: httpx.AsyncClient) -> None:
    every = bytes(range(256)).decode("latin-1")
    for codec in (
        "hex",
        "base32",
        "base32hex",
        "base58",
        "base85",
        "ascii85",
        "quoted-printable",
        "url",
    ):
        encoded = (await _encode(client, every, codec, "encode", charset="latin-1")).json()["data"]
        decoded = await _encode(client, encoded["result"], codec, "decode", charset="latin-1")
        assert decoded.json()["data"]["result"] == every, codec


NASTY = [
    "",
    " ",
    "\\",
    "%",
    "=",
    "<~",
    "~>",
    "&#xFFFFFFFF;",
    "\\u{110000}",
    "\0",
    "é😀",
    "xn--",
    ".",
    "\ufeff",
    "=\n=",
    "-" * 70,
    "z" * 9,
]


@pytest.mark.parametrize("codec", sorted({row[1] for row in KNOWN}))
@pytest.mark.parametrize("direction", ["encode", "decode"])
async def test_odd_input_never_fails_the_server(
    client: httpx.AsyncClient, codec: str, direction: str
) -> None:
    for content in NASTY:
        response = await _encode(client, content, codec, direction)
        assert response.status_code in (200, 400), (content, response.text)


@pytest.mark.parametrize(
    ("content", "offset"),
    [("\\ud800x", 0), ("\\ud800abcdef", 0), ("\\ud800abc\\u0041", 0), ("ab\\ud800", 2)],
)
def test_a_lone_high_surrogate_is_named_where_its_escape_starts(content: str, offset: int) -> None:
    with pytest.raises(EscapeError, match=f"^lone surrogate at offset {offset}$"):
        unescape(content)


@pytest.mark.parametrize(
    ("content", "charset", "text"),
    [
        ("café%20crème", "latin-1", "café crème"),
        ("caf%E9 é", "latin-1", "café é"),
        ("€%80", "cp1252", "€€"),
        ("é%41%00", "utf-16le", "éA"),
    ],
    ids=["latin-1", "latin-1-escape-and-literal", "cp1252", "utf-16le"],
)
async def test_url_decode_writes_literal_characters_in_the_charset(
    client: httpx.AsyncClient, content: str, charset: str, text: str
) -> None:
    response = await _encode(client, content, "url", "decode", charset=charset)
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"result": text, "isBinary": False, "resultBase64": None}


# (text, encoded): each line break is kept as written; a CR that is not part of one is =0D.
QP_LINE_BREAKS = [
    ("x\ny\r\nz", "x\ny\r\nz"),
    ("x\r\ny\nz", "x\r\ny\nz"),
    ("\n\r\n", "\n\r\n"),
    ("a\rb\nc\r\n", "a=0Db\nc\r\n"),
    ("a\r\r\nb\n", "a=0D\r\nb\n"),
    ("a \r\nb\t\n", "a=20\r\nb=09\n"),
    (".\r\n.\n", "=2E\r\n=2E\n"),
    ("a" * 80 + "\r\nb\n", "a" * 75 + "=\r\naaaaa\r\nb\n"),
]


@pytest.mark.parametrize(("text", "encoded"), QP_LINE_BREAKS)
async def test_quoted_printable_keeps_mixed_line_breaks(
    client: httpx.AsyncClient, text: str, encoded: str
) -> None:
    response = await _encode(client, text, "quoted-printable", "encode")
    assert response.json()["data"]["result"] == encoded
    response = await _encode(client, encoded, "quoted-printable", "decode")
    assert response.json()["data"]["result"] == text


async def test_quoted_printable_round_trips_random_bytes(client: httpx.AsyncClient) -> None:
    rng = random.Random(3492)
    # Half the pieces are line breaks, CRs, whitespace or `.`/`=`: mixed endings in most samples.
    pieces = [b"\n", b"\r\n", b"\r", b" ", b"\t", b".", b"="] * 36 + [
        bytes([n]) for n in range(256)
    ]
    for _ in range(200):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randrange(100)))
        text = data.decode("latin-1")
        response = await _encode(client, text, "quoted-printable", "encode", charset="latin-1")
        encoded = response.json()["data"]["result"]
        assert max(map(len, encoded.replace("\r\n", "\n").split("\n"))) <= 76, encoded
        response = await _encode(client, encoded, "quoted-printable", "decode", charset="latin-1")
        assert response.json()["data"]["result"] == text, data
