#!/bin/sh
# The two-node OpenNebula front end of the operators' pcs how-to
# (../shared/seeds/opennebula-frontend-ha-pacemaker-centos7.rst), replayed with
# warden on a CIB file: the guide's own command lines, with `pcs` replaced by
# `warden -f FILE`. Lines that need a running cluster (cluster auth/setup/start,
# stonith fence) are left out; the guide's colocation of opennebula-novnc, a
# resource it never creates, is left out because warden rightly refuses it.
#
# Usage: setup.sh [CIB-FILE]     (default: cib.xml beside this script)
#        WARDEN=/path/to/warden setup.sh ...   (default: warden on the PATH)
set -eu

WARDEN=${WARDEN:-warden}
CIB=${1:-$(dirname "$0")/cib.xml}
rm -f "$CIB"

w() {
    "$WARDEN" -f "$CIB" "$@"
}

w property set no-quorum-policy=ignore

# Fencing: iLO over SSH, a different delay per node against fence races. The
# guide's deprecated parameters are accepted and stored under current names.
w stonith create fence_server1 fence_ilo_ssh pcmk_host_list=one-server1 ipaddr=10.3.4.101 login="Administrator" passwd="s3cret-one" action="reboot" secure=yes delay=30 op monitor interval=20s
w stonith create fence_server2 fence_ilo_ssh pcmk_host_list=one-server2 ipaddr=10.3.4.102 login="Administrator" passwd="s3cret-two" action="reboot" secure=yes delay=15 op monitor interval=20s

# The floating IP and the OpenNebula services.
w resource create Cluster_VIP ocf:heartbeat:IPaddr2 ip=10.3.4.2 cidr_netmask=24 op monitor interval=20s
w resource create opennebula systemd:opennebula
w resource create opennebula-sunstone systemd:opennebula-sunstone
w resource create opennebula-gate systemd:opennebula-gate
w resource create opennebula-flow systemd:opennebula-flow

# Every service runs where the IP is.
w constraint colocation add opennebula Cluster_VIP INFINITY
w constraint colocation add opennebula-sunstone Cluster_VIP INFINITY
w constraint colocation add opennebula-gate Cluster_VIP INFINITY
w constraint colocation add opennebula-flow Cluster_VIP INFINITY
