#!/usr/bin/python3
"""Counts what one host sends on a wire, for the VM scenarios (the guest has no tcpdump).

usage: wire_count.py IFACE SRC_IP PORT OUT

Reads every frame on IFACE (an AF_PACKET socket: a veth end sees the frames its peer sends whatever their
destination) and counts the IPv4 packets from SRC_IP:
  plain  UDP from PORT (first fragments and whole datagrams): L2TP that left without ESP
  esp    ESP (protocol 50) and UDP from port 4500 (ESP in UDP, NAT-T): traffic that left protected
OUT gets "plain=N esp=M" once the socket is bound and again after every counted packet (written to OUT.tmp and
renamed, so a reader never sees half a line). Runs until SIGTERM or SIGINT.
"""
import os
import signal
import socket
import struct
import sys

ETH_P_ALL = 0x0003


def write(out, plain, esp):
    with open(out + ".tmp", "w") as f:
        f.write(f"plain={plain} esp={esp}\n")
    os.replace(out + ".tmp", out)


def main():
    iface, src, port, out = sys.argv[1], socket.inet_aton(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    plain = esp = 0
    write(out, plain, esp)
    while True:
        frame = s.recv(65535)
        if len(frame) < 34 or frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[12:16] != src:
            continue
        proto = ip[9]
        first = (struct.unpack("!H", ip[6:8])[0] & 0x1FFF) == 0
        if proto == 50:
            esp += 1
        elif proto == 17 and first and len(ip) >= ihl + 8:
            sport = struct.unpack("!H", ip[ihl:ihl + 2])[0]
            if sport == port:
                plain += 1
            elif sport == 4500:
                esp += 1
            else:
                continue
        else:
            continue
        write(out, plain, esp)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
