"""A KafkaCrypto producer node for tests: encrypts and sends messages with
kafkacrypto's own KafkaProducer and serializers (the wire format of
OpenMSIStream's encrypted uploaders), and answers key requests while it runs.

usage: kc_produce.py NODE_CONFIG --bootstrap HOST:PORT

Commands on stdin, one per line; each answers one line on stdout:
  send TOPIC KEYHEX VALUEHEX   -> "sent KEYINDEXHEX" once delivered
  rotate                       -> "rotated": the next message uses a new key
                                  (what kafkacrypto does daily and at start)
  quit                         -> "bye", then exit
"""

import argparse
import logging
import os
import pathlib
import sys

from kafkacrypto import KafkaConsumer, KafkaCrypto, KafkaCryptoStore, KafkaProducer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("--bootstrap", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    config = pathlib.Path(args.config).resolve()
    os.chdir(config.parent)
    store = KafkaCryptoStore(str(config), conf_global_logger=False)
    kcp = store.get_kafka_config("producer", extra="crypto")
    kcc = store.get_kafka_config("consumer", extra="crypto")
    store.close()
    for cfg in (kcp, kcc):
        cfg.pop("bootstrap_servers", None)
        cfg["bootstrap.servers"] = args.bootstrap
    kc = KafkaCrypto(None, KafkaProducer(**kcp), KafkaConsumer(**kcc), str(config))
    producer = KafkaProducer(
        **kcp, key_serializer=kc.getKeySerializer(), value_serializer=kc.getValueSerializer()
    )
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "send":
            topic, key, value = words[1], bytes.fromhex(words[2]), bytes.fromhex(words[3])
            producer.send(topic, key=key, value=value).get()
            producer.flush()
            root = kc.get_root(topic)
            print("sent", kc._cur_pgens[root].hex(), flush=True)
        elif words[0] == "rotate":
            with kc._lock:
                kc._cur_pgens = {}
                kc._seed.increment()
            print("rotated", flush=True)
        elif words[0] == "quit":
            break
    producer.close()
    kc.close()
    print("bye", flush=True)


if __name__ == "__main__":
    main()
