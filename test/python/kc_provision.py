"""Provisions throwaway KafkaCrypto nodes for tests, with kafkacrypto's own
classes, the way kafkacrypto's tools/simple-provision.py does (that script is
not in the wheel, and it derives keys from typed passwords).

  kc_provision.py root OUT.json
      A new root of trust and its three provisioner keys (producer,
      consumer, prodcon), each signed by the root. Secret: tests only.

  kc_provision.py node ROOT.json DIR NODE_ID --role producer|consumer|prodcon
      [--topics T ...] [--lifetime SECONDS] [--deny PUBKEY_HEX ...]
      Writes DIR/NODE_ID/NODE_ID.{config,crypto,seed}, the layout
      OpenMSIStream's ProvisionNode leaves (it looks for
      <config folder>/NODE_ID/NODE_ID.config). Prints the node's signing
      public key (hex) on stdout. --lifetime shortens the node's chain
      (simple-provision gives 10 years); --deny adds keys to the node's
      denylist; --topics limits the chain to those root topics (default:
      all).
"""

import argparse
import json
import os
import pathlib
import sys
import time

import msgpack
import pysodium

from kafkacrypto import KafkaCryptoStore
from kafkacrypto.cryptokey import CryptoKey
from kafkacrypto.keys import SignPublicKey, SignSecretKey
from kafkacrypto.ratchet import Ratchet
from kafkacrypto.utils import msgpack_default_pack

USAGES = {
    "producer": ["key-encrypt"],
    "consumer": ["key-encrypt-request", "key-encrypt-subscribe"],
    "prodcon": ["key-encrypt", "key-encrypt-request", "key-encrypt-subscribe"],
}


def pack(obj):
    return msgpack.packb(obj, default=msgpack_default_pack, use_bin_type=True)


def cmd_root(args):
    rpk, rsk = pysodium.crypto_sign_keypair()
    out = {"root_pk": rpk.hex(), "root_sk": rsk.hex(), "provisioners": {}}
    for role, usages in USAGES.items():
        ppk, psk = pysodium.crypto_sign_keypair()
        signed = pysodium.crypto_sign(pack([0, pack([["usages", usages]]), ppk]), rsk)
        out["provisioners"][role] = {"pk": ppk.hex(), "sk": psk.hex(), "signed": signed.hex()}
    pathlib.Path(args.out).write_text(json.dumps(out))


def cmd_node(args):
    root = json.loads(pathlib.Path(args.root).read_text())
    prov = root["provisioners"][args.role]
    msgrot = pack([0, b"\x90", SignPublicKey(bytes.fromhex(root["root_pk"]))])
    node_dir = pathlib.Path(args.dir) / args.node_id
    node_dir.mkdir(parents=True, exist_ok=False)
    os.chdir(node_dir)
    nid = args.node_id
    with open(nid + ".seed", "wb") as f:
        f.write(pack([0, pysodium.randombytes(Ratchet.SECRETSIZE)]))
    eck = CryptoKey(nid + ".crypto", keytypes=[1])
    pk = eck.get_spk(0)
    topics = args.topics or ["^.*$"]
    poison = pack([["usages", USAGES[args.role]], ["topics", topics], ["pathlen", 1]])
    cert = SignSecretKey(bytes.fromhex(prov["sk"])).crypto_sign(
        pack([time.time() + args.lifetime, poison, pk])
    )
    chain = pack([bytes.fromhex(prov["signed"]), cert])
    kcs = KafkaCryptoStore(nid + ".config", nid)
    kcs.store_value("maxage", args.lifetime, section="crypto")
    kcs.store_value("chain0", chain, section="chains")
    kcs.store_value("rot0", msgrot, section="allowlist")
    kcs.store_value("temporary", None, section="allowlist")
    for i, deny in enumerate(args.deny or []):
        kcs.store_value(
            "deny%d" % i, pack([0, b"\x90", SignPublicKey(bytes.fromhex(deny))]), section="denylist"
        )
    kcs.store_value("cryptokey", "file#" + nid + ".crypto")
    kcs.store_value("ratchet", "file#" + nid + ".seed")
    if args.role in ("producer", "prodcon"):
        kcs.store_value("mgmt_long_keyindex", True)
    # The provisioned default is SSL; the test broker speaks plaintext, and
    # OpenMSIStream passes its own [broker] settings on top of these.
    kcs.store_value("security_protocol", "PLAINTEXT", section="kafka")
    kcs.close()
    print(bytes(pk).hex())


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("root")
    r.add_argument("out")
    n = sub.add_parser("node")
    n.add_argument("root")
    n.add_argument("dir")
    n.add_argument("node_id")
    n.add_argument("--role", choices=sorted(USAGES), required=True)
    n.add_argument("--topics", nargs="*")
    n.add_argument("--lifetime", type=float, default=316224000)
    n.add_argument("--deny", nargs="*")
    args = parser.parse_args()
    {"root": cmd_root, "node": cmd_node}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
