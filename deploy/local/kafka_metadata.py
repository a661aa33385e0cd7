#!/usr/bin/env python3
"""Ask a Kafka broker for its metadata, using nothing but the standard library.

    kafka_metadata.py HOST:PORT [--expect-broker HOST:PORT] [--timeout SECONDS]

Sends an ApiVersions request (to learn which Metadata versions the broker speaks), then a
Metadata request for all topics, and prints the brokers it advertises and the number of topics.
Exits 0 when both requests got a well-formed answer (and, with --expect-broker, when that
address is among the advertised brokers); non-zero with the reason on stderr otherwise.

A plain TCP connect proves only that something listens; this proves a Kafka broker answers.
"""

import argparse
import socket
import struct
import sys

API_METADATA = 3
API_VERSIONS = 18
CLIENT_ID = b"tidewatch-services-check"


class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("response truncated")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def int8(self):
        return struct.unpack(">b", self.take(1))[0]

    def int16(self):
        return struct.unpack(">h", self.take(2))[0]

    def int32(self):
        return struct.unpack(">i", self.take(4))[0]

    def string(self):
        n = self.int16()
        return None if n < 0 else self.take(n).decode("utf-8", "replace")


def request(sock, api_key, api_version, correlation_id, body):
    # Request header v1: api_key, api_version, correlation_id, client_id (nullable string).
    header = struct.pack(">hhih", api_key, api_version, correlation_id, len(CLIENT_ID)) + CLIENT_ID
    payload = header + body
    sock.sendall(struct.pack(">i", len(payload)) + payload)
    size = struct.unpack(">i", recv_exact(sock, 4))[0]
    if size <= 0 or size > 64 * 1024 * 1024:
        raise ValueError(f"implausible response size {size}")
    reader = Reader(recv_exact(sock, size))
    got = reader.int32()
    if got != correlation_id:
        raise ValueError(f"correlation id {got}, expected {correlation_id}")
    return reader


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by the broker")
        buf += chunk
    return buf


def api_versions(sock):
    reader = request(sock, API_VERSIONS, 0, 1, b"")
    error = reader.int16()
    if error != 0:
        raise ValueError(f"ApiVersions error code {error}")
    versions = {}
    for _ in range(reader.int32()):
        key, low, high = reader.int16(), reader.int16(), reader.int16()
        versions[key] = (low, high)
    return versions


def metadata(sock, version):
    # Metadata v1..v8 (non-flexible encodings): topics = null means all topics.
    body = struct.pack(">i", -1)
    if version >= 4:
        body += struct.pack(">b", 0)  # allow_auto_topic_creation
    if version >= 8:
        body += struct.pack(">bb", 0, 0)  # include cluster / topic authorized operations
    reader = request(sock, API_METADATA, version, 2, body)
    if version >= 3:
        reader.int32()  # throttle_time_ms
    brokers = []
    for _ in range(reader.int32()):
        node_id, host, port = reader.int32(), reader.string(), reader.int32()
        reader.string()  # rack
        brokers.append((node_id, host, port))
    if version >= 2:
        reader.string()  # cluster_id
    reader.int32()  # controller_id
    topics = reader.int32()
    return brokers, topics


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("address", help="HOST:PORT of the broker")
    parser.add_argument("--expect-broker", help="HOST:PORT that must be advertised")
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args()
    host, _, port = args.address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=args.timeout) as sock:
            sock.settimeout(args.timeout)
            versions = api_versions(sock)
            if API_METADATA not in versions:
                raise ValueError("broker does not offer the Metadata API")
            low, high = versions[API_METADATA]
            version = max(low, 1)
            if version > min(high, 8):
                raise ValueError(f"no Metadata version in 1..8 supported (broker: {low}..{high})")
            brokers, topics = metadata(sock, version)
    except (OSError, ValueError) as err:
        print(f"kafka metadata request to {args.address} failed: {err}", file=sys.stderr)
        return 1
    listed = ", ".join(f"{n}@{h}:{p}" for n, h, p in brokers) or "none"
    print(f"kafka metadata v{version} from {args.address}: brokers [{listed}], {topics} topics")
    if not brokers:
        print("the broker advertised no brokers", file=sys.stderr)
        return 1
    if args.expect_broker:
        if args.expect_broker not in {f"{h}:{p}" for _, h, p in brokers}:
            print(f"expected broker {args.expect_broker} is not advertised", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
