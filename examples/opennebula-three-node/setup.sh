#!/bin/sh
# The OpenNebula front end on three nodes with real quorum: a floating IP,
# the OpenNebula core (oned) and its web services in one group, a fence
# device for each node, and stickiness. Unlike the two-node example there is
# no no-quorum-policy=ignore and there are no fence delays: a node cut off
# from the other two has no quorum, so it stops the front end
# (no-quorum-policy=stop, the default) and fences no one, while the two
# others, a majority, fence it and carry on.
#
# Usage: setup.sh [CIB-FILE | --live]
#   CIB-FILE  write the configuration to this file (default: cib.xml beside
#             this script); the file is replaced once every step succeeded.
#   --live    apply the commands to the running cluster through the local
#             warden daemon (once, on one node, on a cluster without
#             resources).
#
# Choices (environment; the defaults reproduce the committed cib.xml):
#   FENCE=ilo        fence_ilo_ssh (HPE iLO over SSH)
#   FENCE=ipmi       fence_ipmilan with lanplus=1 (any IPMI 2.0 BMC)
#   WEB=sunstone     Ruby Sunstone and its noVNC proxy (OpenNebula up to 6.x)
#   WEB=fireedge     FireEdge (OpenNebula 7 and later)
# Site values: NODE1 NODE2 NODE3 (node names as corosync knows them), VIP,
#   CIDR, BMC1 BMC2 BMC3 (iLO/BMC address of each node), FENCE_LOGIN,
#   FENCE_SECRETS (directory on every node holding NODE.password).
#   WARDEN (the warden binary; default: warden on the PATH).
#
# No password is passed on a command line or stored in the CIB: each fence
# device reads its node's BMC password with password_script from a root-only
# file that must exist on every node (see README.md).
set -eu

WARDEN=${WARDEN:-warden}
FENCE=${FENCE:-ilo}
WEB=${WEB:-sunstone}
NODE1=${NODE1:-one-server1}
NODE2=${NODE2:-one-server2}
NODE3=${NODE3:-one-server3}
VIP=${VIP:-10.3.4.2}
CIDR=${CIDR:-24}
BMC1=${BMC1:-10.3.4.101}
BMC2=${BMC2:-10.3.4.102}
BMC3=${BMC3:-10.3.4.103}
FENCE_LOGIN=${FENCE_LOGIN:-Administrator}
FENCE_SECRETS=${FENCE_SECRETS:-/etc/warden/fence}

# Check the choices before anything is written.
case $FENCE in
ilo | ipmi) ;;
*)
    echo "setup.sh: FENCE='$FENCE' is not known: expected ilo (fence_ilo_ssh) or ipmi (fence_ipmilan)" >&2
    exit 2
    ;;
esac
case $WEB in
sunstone | fireedge) ;;
*)
    echo "setup.sh: WEB='$WEB' is not known: expected sunstone (OpenNebula up to 6.x) or fireedge (OpenNebula 7)" >&2
    exit 2
    ;;
esac

case ${1:-} in
--live) CIB= ;;
-*)
    echo "setup.sh: unknown option '$1': expected a CIB file name or --live" >&2
    exit 2
    ;;
*)
    # Written to a new file beside the target, which replaces it only when
    # every command succeeded: a failure leaves the old file as it was.
    TARGET=${1:-$(dirname "$0")/cib.xml}
    CIB=$TARGET.new.$$
    trap 'rm -f "$CIB"' EXIT
    rm -f "$CIB"
    ;;
esac

w() {
    if [ -n "$CIB" ]; then
        "$WARDEN" -f "$CIB" "$@"
    else
        "$WARDEN" "$@"
    fi
}

# No cluster property here: no-quorum-policy stays at its default, stop.

# One fence device per node. Only a partition with quorum fences, so two
# partitions never race to fence each other and no delay is needed.
fence_device() { # NAME NODE BMC
    case $FENCE in
    ilo)
        w stonith create "$1" fence_ilo_ssh pcmk_host_list="$2" ip="$3" \
            username="$FENCE_LOGIN" password_script="cat $FENCE_SECRETS/$2.password" \
            ssh=1 op monitor interval=60s
        ;;
    ipmi)
        w stonith create "$1" fence_ipmilan pcmk_host_list="$2" ip="$3" \
            username="$FENCE_LOGIN" password_script="cat $FENCE_SECRETS/$2.password" \
            lanplus=1 op monitor interval=60s
        ;;
    esac
}
fence_device fence_server1 "$NODE1" "$BMC1"
fence_device fence_server2 "$NODE2" "$BMC2"
fence_device fence_server3 "$NODE3" "$BMC3"

# The front end is one group, as in the two-node example: the VIP first,
# then oned, then the services that talk to it; stopped in reverse order.
group() { # NAME AGENT [OPTION...]
    name=$1
    agent=$2
    shift 2
    w resource create "$name" "$agent" "$@" --group opennebula-frontend
}
group Cluster_VIP ocf:heartbeat:IPaddr2 ip="$VIP" cidr_netmask="$CIDR" op monitor interval=20s
group opennebula ocf:opennebula:oned
case $WEB in
sunstone)
    group opennebula-sunstone ocf:opennebula:sunstone
    group opennebula-novnc ocf:opennebula:novnc
    ;;
fireedge)
    group opennebula-fireedge ocf:opennebula:fireedge
    ;;
esac
group opennebula-gate ocf:opennebula:gate
group opennebula-flow ocf:opennebula:flow

# Stay where it runs; after three failures of a member on a node the group
# leaves that node until the failures are cleaned up.
w resource meta opennebula-frontend resource-stickiness=100 migration-threshold=3

if [ -n "$CIB" ]; then
    mv "$CIB" "$TARGET"
fi
