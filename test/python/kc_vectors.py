"""Writes kafkacrypto/testdata/vectors.json (and node/, a provisioned consumer node): reference values computed with
libsodium (through pysodium) and kafkacrypto's own classes, for the Go
package's unit tests. Re-running gives new random keys; every vector is
checked here with kafkacrypto itself before it is written.

usage: build/venv/bin/python test/python/kc_vectors.py OUT.json
"""

import json
import logging
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import msgpack
import pysodium

import kafkacrypto.chain as kchain
from kafkacrypto.chain import process_chain
from kafkacrypto.cryptoexchange import CryptoExchange
from kafkacrypto.cryptokey import CryptoKey
from kafkacrypto.cryptostore import CryptoStore
from kafkacrypto.keygenerator import KeyGenerator
from kafkacrypto.utils import msgpack_default_pack

HERE = pathlib.Path(__file__).resolve().parent


def pack(obj):
    return msgpack.packb(obj, default=msgpack_default_pack, use_bin_type=True)


def blake2b_vectors():
    out = []
    cases = []
    for msglen in (0, 1, 3, 64, 127, 128, 129, 255, 256, 300):
        for keylen in (0, 16, 32, 64):
            cases.append((msglen, keylen))
    for i, (msglen, keylen) in enumerate(cases):
        msg = bytes((j * 7 + i) & 0xFF for j in range(msglen))
        key = bytes((j * 13 + 5 + i) & 0xFF for j in range(keylen)) or None
        salt = bytes((j + i) & 0xFF for j in range(16)) if i % 3 else None
        personal = bytes((j * 3 + i) & 0xFF for j in range(16)) if i % 2 else None
        outlen = (1, 16, 32, 56, 64)[i % 5]
        h = pysodium.crypto_generichash_blake2b_salt_personal(
            msg, key=key or b"", salt=salt or b"\x00" * 16, personal=personal or b"\x00" * 16, outlen=outlen
        )
        out.append(
            {
                "msg": msg.hex(),
                "key": (key or b"").hex(),
                "salt": salt.hex() if salt else "",
                "personal": personal.hex() if personal else "",
                "outlen": outlen,
                "hash": h.hex(),
            }
        )
    return out


def value_vectors():
    """Encrypted keys and values exactly as KafkaCrypto.Serializer builds
    them (crypto.py: b'\\x01' + packb([keyidx, salt, secretbox])), checked
    by opening them the way KafkaCrypto.Deserializer does."""
    out = []
    secret = pysodium.randombytes(32)
    ki = pysodium.randombytes(32)
    kg, vg = KeyGenerator.get_key_value_generators(secret)
    for kind, gen in (("key", kg), ("value", vg)):
        for pt in (b"", b"a", b"_hello.txt_chunk_1_of_1", bytes(range(256)) * 5):
            salt = gen.salt()
            key, nonce = gen.generate()
            wire = b"\x01" + pack([ki, salt, pysodium.crypto_secretbox(pt, nonce, key)])
            dk, dn = KeyGenerator.get_key_value_generators(secret)[0 if kind == "key" else 1].generate(salt=salt)
            assert pysodium.crypto_secretbox_open(msgpack.unpackb(wire[1:], raw=True)[2], dn, dk) == pt
            out.append({"secret": secret.hex(), "kind": kind, "key_index": ki.hex(), "salt": salt.hex(),
                        "wire": wire.hex(), "plaintext": pt.hex()})
    return out


def provision(tmp, *args):
    out = subprocess.run(
        [sys.executable, "-W", "ignore", str(HERE / "kc_provision.py"), *args],
        cwd=tmp, check=True, capture_output=True, text=True,
    ).stdout.split()
    return out[-1] if out else ""


def node_exchange(tmp, node_id):
    d = pathlib.Path(tmp) / "nodes" / node_id
    cwd = os.getcwd()
    os.chdir(d)
    try:
        store = CryptoStore(node_id, node_id + ".config")
        ck = CryptoKey(node_id + ".crypto")
        allow = list((store.load_section("allowlist", defaults=False) or {}).values())
        deny = list((store.load_section("denylist", defaults=False) or {}).values())
        chains = list((store.load_section("chains", defaults=False) or {}).values())
        ex = CryptoExchange(chains, ck, maxage=86400, allowlist=allow, denylist=deny)
        store.close()
    finally:
        os.chdir(cwd)
    return ex, ck, allow, deny, chains


def chain_and_exchange_vectors(tmp):
    provision(tmp, "root", "root.json")
    provision(tmp, "root", "other.json")
    prod_pk = provision(tmp, "node", "root.json", "nodes", "prod", "--role", "producer")
    cons_pk = provision(tmp, "node", "root.json", "nodes", "cons", "--role", "consumer")
    provision(tmp, "node", "root.json", "nodes", "limited", "--role", "consumer", "--topics", "other")
    provision(tmp, "node", "root.json", "nodes", "short", "--role", "consumer", "--lifetime", "60")
    provision(tmp, "node", "other.json", "nodes", "stranger", "--role", "consumer")
    provision(tmp, "node", "root.json", "nodes", "prodden", "--role", "producer", "--deny", cons_pk)

    prod, _, prod_allow, _, _ = node_exchange(tmp, "prod")
    prodden, _, _, prodden_deny, _ = node_exchange(tmp, "prodden")
    cons, cons_key, cons_allow, _, cons_chains = node_exchange(tmp, "cons")
    root = "topic"
    now = time.time()

    def request_of(node_id):
        ex, _, _, _, _ = node_exchange(tmp, node_id)
        return ex.signed_epks(root)[0][0]

    # Chain cases, judged by kafkacrypto's process_chain.
    cases = []

    def case(name, chain, topic, usage, allow, deny, later=0):
        kchain.time = lambda: now + later
        try:
            pk = process_chain(chain, topic, usage, allowlist=allow, denylist=deny)[0]
            ok, maxage = True, pk[0]
        except Exception:
            ok, maxage = False, 0
        finally:
            kchain.time = time.time
        cases.append({"name": name, "chain": chain.hex(), "topic": topic, "usage": usage,
                      "allowlist": [a.hex() for a in allow], "denylist": [d.hex() for d in deny],
                      "now": now + later, "ok": ok, "maxage": maxage})

    good = cons.signed_epks(root)[0][0]
    case("consumer request", good, root, "key-encrypt-request", prod_allow, [])
    case("consumer request, subscribe usage", good, root, "key-encrypt-subscribe", prod_allow, [])
    case("consumer request used as a key answer", good, root, "key-encrypt", prod_allow, [])
    case("consumer request, wrong root", request_of("stranger"), root, "key-encrypt-request", prod_allow, [])
    case("consumer request, denylisted", good, root, "key-encrypt-request", prod_allow, prodden_deny)
    case("consumer chain limited to another topic", request_of("limited"), root, "key-encrypt-request", prod_allow, [])
    short = request_of("short")
    case("short chain, in time", short, root, "key-encrypt-request", prod_allow, [])
    case("short chain, expired", short, root, "key-encrypt-request", prod_allow, [], later=120)
    case("request, expired after a day", good, root, "key-encrypt-request", prod_allow, [], later=2 * 86400)
    case("node chain alone", cons_chains[0], None, None, cons_allow, [])

    # A full exchange: the consumer asks, the producer answers.
    secrets = {pysodium.randombytes(32): pysodium.randombytes(32) for _ in range(2)}
    answer = prod.encrypt_keys(list(secrets), list(secrets.values()), root, msgval=good)[0]
    esk = cons_key._CryptoKey__esk[root]["decrypt_keys"][1].keys
    random0 = process_chain(good, root, "key-encrypt-request", allowlist=prod_allow)[0][3]
    got = cons.decrypt_keys(root, msgval=answer)
    assert got == secrets, "kafkacrypto could not open its own answer"
    case("producer answer", answer, root, "key-encrypt", cons_allow, [])
    case("producer answer used as a request", answer, root, "key-encrypt-request", cons_allow, [])
    exchange = {"root": root, "now": now, "consumer_allowlist": [a.hex() for a in cons_allow],
                "consumer_esk": esk.hex(), "random0": random0.hex(), "answer": answer.hex(),
                "keys": {k.hex(): v.hex() for k, v in secrets.items()}}
    return cases, exchange


def main():
    logging.disable(logging.WARNING)
    out = pathlib.Path(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        cases, exchange = chain_and_exchange_vectors(tmp)
        # The consumer node whose request the exchange vector answers, for
        # the Go tests that load node files (throwaway keys).
        node = out.parent / "node"
        shutil.rmtree(node, ignore_errors=True)
        shutil.copytree(pathlib.Path(tmp) / "nodes" / "cons", node / "cons")
        shutil.copy(pathlib.Path(tmp) / "root.json", node / "root.json")
    data = {"generator": "test/python/kc_vectors.py", "blake2b_salt_personal": blake2b_vectors(),
            "values": value_vectors(), "chains": cases, "exchange": exchange}
    out.write_text(json.dumps(data, indent=1) + "\n")


if __name__ == "__main__":
    main()
