#!/bin/sh
# Starts containerd, dockerd (on that containerd) and the Podman API service under ROOT, on unix
# sockets, and dockerd also on 127.0.0.1:TLS_PORT with TLS that requires a client certificate (made
# here with openssl: ROOT/tls/ca.pem, cert.pem, key.pem are the client's, as in DOCKER_CERT_PATH).
# Prints "started", then waits for its stdin to close (the test process exiting, however it exits)
# and stops them by PID, unmounts what they may have left mounted under ROOT and removes ROOT.
# Readiness is polled by the tests.  Usage: run-engines.sh ROOT TLS_PORT
set -u
R=${1:?usage: run-engines.sh ROOT TLS_PORT}
TLS_PORT=${2:?usage: run-engines.sh ROOT TLS_PORT}
mkdir -p "$R"
exec 2>>"$R/supervisor.log"
had_docker0=$(ip link show docker0 >/dev/null 2>&1 && echo yes)

cat >"$R/containerd.toml" <<T
version = 2
root = "$R/ctd/root"
state = "$R/ctd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]
[grpc]
  address = "$R/ctd.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$R/ctd/opt"
T
containerd --config "$R/containerd.toml" >"$R/containerd.log" 2>&1 &
CP=$!

T="$R/tls"
mkdir -p "$T"
sign() { # NAME CN EXTENSIONS: NAME-key.pem and NAME-cert.pem, signed by the CA
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$2" -keyout "$T/$1-key.pem" -out "$T/$1.csr" &&
  printf '%b' "$3" >"$T/$1.ext" &&
  openssl x509 -req -in "$T/$1.csr" -CA "$T/ca.pem" -CAkey "$T/ca-key.pem" -CAcreateserial \
    -days 2 -extfile "$T/$1.ext" -out "$T/$1-cert.pem"
}
{ openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=ocidiff test CA" \
    -keyout "$T/ca-key.pem" -out "$T/ca.pem" &&
  sign server 127.0.0.1 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' &&
  sign client ocidiff 'extendedKeyUsage=clientAuth\n' &&
  mv "$T/client-cert.pem" "$T/cert.pem" && mv "$T/client-key.pem" "$T/key.pem"; } >"$R/openssl.log" 2>&1

# deprecated-key-path keeps dockerd from writing /etc/docker/key.json; --bridge=none and
# --iptables=false keep it from creating docker0 and touching the firewall.
printf '{"deprecated-key-path": "%s/docker-key.json"}\n' "$R" >"$R/daemon.json"
dockerd --config-file "$R/daemon.json" --containerd "$R/ctd.sock" --iptables=false --ip6tables=false \
  --bridge=none --storage-driver=vfs --data-root "$R/docker" --exec-root "$R/dx" \
  --pidfile "$R/dockerd.pid" --host "unix://$R/docker.sock" --host "tcp://127.0.0.1:$TLS_PORT" \
  --tlsverify --tlscacert "$T/ca.pem" --tlscert "$T/server-cert.pem" --tlskey "$T/server-key.pem" \
  >"$R/dockerd.log" 2>&1 &
DP=$!

cat >"$R/podman-cli" <<P
#!/bin/sh
exec podman --storage-driver vfs --root "$R/podman" --runroot "$R/prun" --tmpdir "$R/ptmp" \
  --cgroup-manager cgroupfs --events-backend file "\$@"
P
chmod +x "$R/podman-cli"
"$R/podman-cli" system service --time=0 "unix://$R/podman.sock" >"$R/podman.log" 2>&1 &
PP=$!

echo "started $CP $DP $PP"
exec >/dev/null
cat >/dev/null   # until the test process goes away

gone() { ! kill -0 "$1" 2>/dev/null; }
kill "$PP" "$DP" 2>/dev/null
i=0; until gone "$PP" && gone "$DP" || [ $i -ge 200 ]; do sleep 0.05; i=$((i+1)); done
kill "$CP" 2>/dev/null
i=0; until gone "$CP" || [ $i -ge 200 ]; do sleep 0.05; i=$((i+1)); done
kill -9 "$PP" "$DP" "$CP" 2>/dev/null
wait
grep -o " $R[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
# Only if this run created it (--bridge=none should prevent that); never someone else's.
[ -z "$had_docker0" ] && ip link show docker0 >/dev/null 2>&1 && ip link delete docker0
rm -rf "$R"
