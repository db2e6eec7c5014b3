//go:build linux

package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openmsi/datafiledownloaddirectory/test/testkit"
)

// hardenScript applies, without systemd, the limits of the units install
// writes: the whole file tree read-only but the output and log folders
// (ProtectSystem=strict with ReadWritePaths=), in a mount namespace of the
// program's own (unshare), then an unprivileged user without capabilities
// or a way to gain them (User=, CapabilityBoundingSet=, NoNewPrivileges=),
// umask 0027 (UMask=) and the output folder as working folder. It checks
// that the tree really is read-only before it starts the program. The
// system call filter, the address families and the other kernel-side
// restrictions are left to systemd-analyze's rating.
const hardenScript = `set -eu
out=$1 logs=$2 uid=$3 gid=$4; shift 4
mount --make-rprivate /
mount --bind "$out" "$out"
mount --bind "$logs" "$logs"
awk '{print $5}' /proc/self/mountinfo | sort -ru | while read -r m; do
	case "$m" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*) continue ;; esac
	mount -o remount,bind,ro "$m" 2>/dev/null || true
done
mount -o remount,bind,rw "$out"
mount -o remount,bind,rw "$logs"
probe="$(dirname "$out")/.sandbox-probe"
if touch "$probe" 2>/dev/null; then
	echo "the tree around the output folder is still writable" >&2
	exit 97
fi
umask 0027
cd "$out"
exec setpriv --reuid="$uid" --regid="$gid" --clear-groups --no-new-privs --bounding-set=-all --inh-caps=-all -- "$@"
`

// TestServiceUnderHardenedLimits runs the service as the installed unit
// does, under the same limits (see hardenScript), and checks that it still
// downloads and stops cleanly, and that what it writes is not readable by
// other users.
func TestServiceUnderHardenedLimits(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		testkit.Need(t, "applying a unit's limits without systemd needs root")
	}
	for _, tool := range []string{"unshare", "setpriv", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			testkit.Need(t, tool+" is missing (Debian packages util-linux and mount)")
		}
	}
	topic, cfg := setup(t, 2)
	// Only out and logs become the user's own.
	nb := forNobody(t, cfg, "hardened")
	uid, gid, bin, userCfg := nb.uid, nb.gid, nb.bin, nb.cfg
	out, logs := filepath.Join(nb.base, "out"), filepath.Join(nb.base, "logs")
	nb.own(t, out, logs)

	files, msgs := someFiles(900, "hardened", 3, 300_000)
	produce(t, topic, msgs)
	stopWatch, watchErr := watch(out, files)
	hardened := func(c *exec.Cmd) {
		c.Path = "/usr/bin/unshare"
		c.Args = append([]string{"unshare", "--mount", "--", "sh", "-c", hardenScript, "harden", out, logs, strconv.Itoa(uid), strconv.Itoa(gid), bin}, c.Args[1:]...)
	}
	p := startWith(t, hardened, false, "run", out, "--config", userCfg, "--topic_name", topic,
		"--consumer_group_id", "hardened-"+topic, "--service_name", "hardened", "--logger_file_path", logs)
	waitFor(t, "the files under the hardened limits", 2*time.Minute, allThere(out, files))
	stopCleanly(t, p, out, stopWatch, watchErr)
	if !strings.Contains(p.Output(), "Stop requested by the service manager: stopping") {
		t.Errorf("no stop line:\n%s", p.Output())
	}

	// UMask=0027 reached the files: none is readable by other users.
	for rel := range files {
		fi, err := os.Stat(filepath.Join(out, rel))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o007 != 0 {
			t.Errorf("%s is mode %04o: readable by other users despite the umask", rel, fi.Mode().Perm())
		}
		if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != uid {
			t.Errorf("%s belongs to uid %d, not to the service's user", rel, st.Uid)
		}
	}
	if _, err := os.Stat(filepath.Join(logs, "DataFileDownloadDirectory.log")); err != nil {
		t.Errorf("no log file in the log folder: %v", err)
	}
}
