"""Digests of values that stand for no value: ``sha256("")``, ``md5("null")``.

A pixel or SDK hashes a form's field before it sends it, filled or not (a shop's page,
in a HAR published with a pixel inspector's tests, sent ``sha256("1")`` as Meta's
``udff[ph]`` and as TikTok's ``auto_phone_number``). Such a digest under a name that
says phone or e-mail is no one's identifier hashed:
:meth:`~capture.identity.values.ValueScanner.hashed` passes it over.
The digests are written out (a test holds them to hashlib's), so that no hash library
is loaded for them.
"""

from __future__ import annotations

PLACEHOLDER_WORDS = (
    "",
    " ",
    "-",
    "0",
    "1",
    "-1",
    "null",
    "NULL",
    "None",
    "none",
    "undefined",
    "nan",
    "NaN",
    "true",
    "false",
    "True",
    "False",
    "unknown",
)
"""The empty value, blanks, booleans, numbers a form's default holds, and the words
languages print for no value (JavaScript's, Java's, Python's)."""

PLACEHOLDER_DIGESTS = frozenset(
    {
        "d41d8cd98f00b204e9800998ecf8427e",  # md5('')
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",  # sha1('')
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",  # sha256('')
        "7215ee9c7d9dc229d2921a40e899ec5f",  # md5(' ')
        "b858cb282617fb0956d960215c8e84d1ccf909c6",  # sha1(' ')
        "36a9e7f1c95b82ffb99743e0c5c4ce95d83c9a430aac59f84ef3cbfab6145068",  # sha256(' ')
        "336d5ebc5436534e61d16e63ddfca327",  # md5('-')
        "3bc15c8aae3e4124dd409035f32ea2fd6835efc9",  # sha1('-')
        "3973e022e93220f9212c18d0d0c543ae7c309e46640da93a4a0314de999f5112",  # sha256('-')
        "cfcd208495d565ef66e7dff9f98764da",  # md5('0')
        "b6589fc6ab0dc82cf12099d1c2d40ab994e8410c",  # sha1('0')
        "5feceb66ffc86f38d952786c6d696c79c2dbc239dd4e91b46729d73a27fb57e9",  # sha256('0')
        "c4ca4238a0b923820dcc509a6f75849b",  # md5('1')
        "356a192b7913b04c54574d18c28d46e6395428ab",  # sha1('1')
        "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b",  # sha256('1')
        "6bb61e3b7bce0931da574d19d1d82c88",  # md5('-1')
        "7984b0a0e139cabadb5afc7756d473fb34d23819",  # sha1('-1')
        "1bad6b8cf97131fceab8543e81f7757195fbb1d36b376ee994ad1cf17699c464",  # sha256('-1')
        "37a6259cc0c1dae299a7866489dff0bd",  # md5('null')
        "2be88ca4242c76e8253ac62474851065032d6833",  # sha1('null')
        "74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b",  # sha256('null')
        "6c3e226b4d4795d518ab341b0824ec29",  # md5('NULL')
        "eef19c54306daa69eda49c0272623bdb5e2b341f",  # sha1('NULL')
        "fb329000228cc5a24c264c57139de8bf854fc86fc18bf1c04ab61a2b5cb4b921",  # sha256('NULL')
        "6adf97f83acf6453d4a6a4b1070f3754",  # md5('None')
        "6eef6648406c333a4035cd5e60d0bf2ecf2606d7",  # sha1('None')
        "dc937b59892604f5a86ac96936cd7ff09e25f18ae6b758e8014a24c7fa039e91",  # sha256('None')
        "334c4a4c42fdb79d7ebc3e73b517e6f8",  # md5('none')
        "71f8e7976e4cbc4561c9d62fb283e7f788202acb",  # sha1('none')
        "140bedbf9c3f6d56a9846d2ba7088798683f4da0c248231336e6a05679e4fdfe",  # sha256('none')
        "5e543256c480ac577d30f76f9120eb74",  # md5('undefined')
        "d5d4cd07616a542891b7ec2d0257b3a24b69856e",  # sha1('undefined')
        "eb045d78d273107348b0300c01d29b7552d622abbc6faf81b3ec55359aa9950c",  # sha256('undefined')
        "a3d2de7675556553a5f08e4c88d2c228",  # md5('nan')
        "11e623a37e87cf7995c466723ec99688d55cae8c",  # sha1('nan')
        "9b2d5b4678781e53038e91ea5324530a03f27dc1d0e5f6c9bc9d493a23be9de0",  # sha256('nan')
        "7ecfb3bf076a6a9635f975fe96ac97fd",  # md5('NaN')
        "f7fd9c68f804acda665d2ab082217bb1583318f2",  # sha1('NaN')
        "d5b592c05dc25b5032553f1b27f4139be95e881f73db33b02b05ab20c3f9981e",  # sha256('NaN')
        "b326b5062b2f0e69046810717534cb09",  # md5('true')
        "5ffe533b830f08a0326348a9160afafc8ada44db",  # sha1('true')
        "b5bea41b6c623f7c09f1bf24dcae58ebab3c0cdd90ad966bc43a45b44867e12b",  # sha256('true')
        "68934a3e9455fa72420237eb05902327",  # md5('false')
        "7cb6efb98ba5972a9b5090dc2e517fe14d12cb04",  # sha1('false')
        "fcbcf165908dd18a9e49f7ff27810176db8e9f63b4352213741664245224f8aa",  # sha256('false')
        "f827cf462f62848df37c5e1e94a4da74",  # md5('True')
        "88b33e4e12f75ac8bf792aebde41f1a090f3a612",  # sha1('True')
        "3cbc87c7681f34db4617feaa2c8801931bc5e42d8d0f560e756dd4cd92885f18",  # sha256('True')
        "f8320b26d30ab433c5a54546d21f414c",  # md5('False')
        "97cdbdc7feff827efb082a6b6dd2727237cd49fd",  # sha1('False')
        "60a33e6cf5151f2d52eddae9685cfa270426aa89d8dbc7dfb854606f1d1a40fe",  # sha256('False')
        "ad921d60486366258809553a3db49a4a",  # md5('unknown')
        "50d8b4a941c26b89482c94ab324b5a274f9ced66",  # sha1('unknown')
        "b23a6a8439c0dde5515893e7c90c1e3233b8616e634470f20dc4928bcf3609bc",  # sha256('unknown')
    }
)
"""MD5, SHA-1 and SHA-256 (hex, lower case) of each of :data:`PLACEHOLDER_WORDS`."""
