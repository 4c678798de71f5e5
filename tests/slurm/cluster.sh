#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, for testing profiles/slurm. No systemd.
#
#   tests/slurm/cluster.sh start    install (Debian slurm-wlm + munge) if needed, configure, start, wait idle
#   tests/slurm/cluster.sh stop     stop the daemons by their pid files
#   tests/slurm/cluster.sh status   print the node state; exit 1 when the cluster is not up
#
# Idempotent: start on a running cluster only checks it; stop on a stopped one does nothing.
# Needs root (as in CI). The node's CPUs and memory are read from the machine (slurmd -C); one
# stand-in GPU per CPU is declared (empty files as their devices) so jobs that ask for a GPU can be
# scheduled, as many at once as a local run with the same cores runs jobs.
set -euo pipefail

CONF_DIR=/etc/slurm
RUN_DIR=/run/clipgan-slurm
LOG_DIR=/var/log/slurm
SPOOL=/var/spool/clipgan-slurm
PARTITION=${CLIPGAN_SLURM_PARTITION:-main}

log() { echo "[slurm-cluster] $*" >&2; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

install_packages() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null; then
        return
    fi
    log "installing slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq slurm-wlm munge >/dev/null
}

start_munge() {
    if alive /run/munge/munged.pid; then return; fi
    install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
    install -d -o munge -g munge -m 0755 /run/munge
    if [ ! -s /etc/munge/munge.key ]; then
        dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
    runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
    for _ in $(seq 50); do munge -n >/dev/null 2>&1 && return; sleep 0.1; done
    log "munged did not come up"; exit 1
}

write_config() {
    local host node_line cpus mem_mb def_mem
    host=$(hostname -s)
    # "NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24000"
    node_line=$(slurmd -C | sed -n 1p)
    cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$node_line")
    mem_mb=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node_line")
    mem_mb=$((mem_mb * 9 / 10))        # leave the OS a tenth
    def_mem=$((mem_mb / cpus))         # without DefMemPerCPU each job takes the whole node
    install -d "$CONF_DIR" "$RUN_DIR" "$LOG_DIR" "$SPOOL/ctld" "$SPOOL/d"
    cat >"$CONF_DIR/slurm.conf" <<EOF
# written by clipgan tests/slurm/cluster.sh: a one-node test cluster
ClusterName=clipgan-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$SPOOL/ctld
SlurmdSpoolDir=$SPOOL/d
SlurmctldPidFile=$RUN_DIR/slurmctld.pid
SlurmdPidFile=$RUN_DIR/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$LOG_DIR/jobcomp.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$def_mem
MinJobAge=300
ReturnToService=2
GresTypes=gpu
$(sed "s/RealMemory=[0-9]*/RealMemory=$mem_mb/" <<<"$node_line") Gres=gpu:$cpus State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    # a GPU resource must name a File per GPU, or the node is invalid: empty files stand in for the devices
    for i in $(seq 0 $((cpus - 1))); do : >"$RUN_DIR/gpu$i"; done
    echo "NodeName=$host Name=gpu File=$RUN_DIR/gpu[0-$((cpus - 1))]" >"$CONF_DIR/gres.conf"
    rm -f "$CONF_DIR/cgroup.conf"  # 22.05 has no CgroupPlugin=disabled; linuxproc + task/none need none
}

node_state() { sinfo -h -N -o "%t" 2>/dev/null | head -n 1; }

start() {
    install_packages
    start_munge
    if alive "$RUN_DIR/slurmctld.pid" && alive "$RUN_DIR/slurmd.pid"; then
        log "already running: node $(node_state)"
        return
    fi
    write_config
    alive "$RUN_DIR/slurmctld.pid" || slurmctld || { tail -n 20 "$LOG_DIR/slurmctld.log" >&2; exit 1; }
    alive "$RUN_DIR/slurmd.pid" || slurmd || { tail -n 20 "$LOG_DIR/slurmd.log" >&2; exit 1; }
    for _ in $(seq 60); do
        case "$(node_state)" in
            idle*|mix*|alloc*) log "up: node $(node_state), partition $PARTITION"; return ;;
        esac
        sleep 1
    done
    log "the node did not become idle:"; sinfo -N -l >&2 || true
    tail -n 20 "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd.log" >&2 || true
    exit 1
}

stop() {
    for daemon in slurmd slurmctld; do
        if alive "$RUN_DIR/$daemon.pid"; then
            kill "$(cat "$RUN_DIR/$daemon.pid")"
            for _ in $(seq 50); do alive "$RUN_DIR/$daemon.pid" || break; sleep 0.1; done
        fi
        rm -f "$RUN_DIR/$daemon.pid"
    done
    if alive /run/munge/munged.pid; then kill "$(cat /run/munge/munged.pid)"; fi
    log "stopped"
}

status() {
    if alive "$RUN_DIR/slurmctld.pid" && alive "$RUN_DIR/slurmd.pid"; then
        echo "up: node $(node_state)"
    else
        echo "down"; return 1
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
