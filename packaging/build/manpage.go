package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// writeManPage makes DataFileDownloadDirectory.1.gz from the program's own
// --help, so that `man DataFileDownloadDirectory` can never disagree with
// it, plus what only the Linux package has: the service and its files.
func writeManPage(linuxBinary, version, dir string) (string, error) {
	cmd := exec.Command(linuxBinary, "--help")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	help, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("running %s --help for the man page: %w: %s", linuxBinary, err, stderr.Bytes())
	}
	page := manPage(string(help), version)
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return "", err
	}
	// No name or time in the gzip header: the page depends on its text only.
	if _, err := zw.Write([]byte(page)); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	path := filepath.Join(dir, Name+".1.gz")
	return path, os.WriteFile(path, gz.Bytes(), 0o644)
}

func manPage(help, version string) string {
	var b strings.Builder
	fmt.Fprintf(&b, ".TH %s 1 \"\" \"%s %s\" \"User Commands\"\n", strings.ToUpper(Name), Name, version)
	b.WriteString(".SH NAME\n" + Name + ` \- rebuild the files that OpenMSIStream uploads to a Kafka topic` + "\n")
	b.WriteString(".SH SYNOPSIS\n.B " + Name + "\n" + roff("OUTPUT_DIR [--config FILE] [--topic_name TOPIC] [options]") + "\n")
	b.WriteString(".SH DESCRIPTION\nThe text of\n.B " + Name + ` \-\-help` + ":\n.PP\n.nf\n")
	for _, line := range strings.Split(strings.TrimRight(help, "\n"), "\n") {
		b.WriteString(roff(line) + "\n")
	}
	b.WriteString(".fi\n")
	b.WriteString(`.SH SERVICE
Each download can run as an instance of the systemd template unit
.BR ` + PackageName + `@.service :
.PP
.nf
.RS
systemctl enable \-\-now ` + PackageName + `@NAME
.RE
.fi
.PP
runs
.PP
.nf
.RS
` + roff(Name+" run $OUTPUT_DIR --config /etc/"+PackageName+"/NAME.config --topic_name $TOPIC --service_name NAME $OPTIONS") + `
.RE
.fi
.PP
as the user
.BR ` + PackageName + ` ,
restarts it 10 s after it exits, unless with status 2 (a command\-line or
config file error), and stops it with SIGTERM, after which it commits and
leaves its consumer group within 30 s.
Its output is in the journal:
.BR "journalctl \-u ` + PackageName + `@NAME" .
.SH FILES
.TP
.I /etc/` + PackageName + `/NAME.config
The OpenMSIStream config file of the service instance NAME; see
.IR /etc/` + PackageName + `/example.config .
.TP
.I /etc/` + PackageName + `/NAME.env
Its environment (mode 0600, read by systemd as root): OUTPUT_DIR=, TOPIC=,
optionally OPTIONS= (more command\-line options, split at spaces) and the
variables the config file references, such as broker passwords; see
.IR /etc/` + PackageName + `/example.env .
.TP
.I /var/lib/` + PackageName + `
The service's working folder, owned by its user; output folders elsewhere
must be writable by the user
.BR ` + PackageName + ` .
.TP
.I /var/log/` + PackageName + `
Created (owned by the service user) for the services' log files.
.SH SEE ALSO
.BR systemctl (1),
.BR journalctl (1)
`)
	return b.String()
}

// roff escapes a line of plain text for a man page: backslashes, dashes
// (which roff would render as hyphens), and a leading dot or quote that
// roff would take for a request.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
