package options

import (
	"slices"
	"strings"
	"testing"
)

func TestServiceArgs(t *testing.T) {
	t.Parallel()
	o, err := Parse([]string{"out", "--n-threads", "4", "--dry_run", "--config", "c", "--service_user", "u",
		"--update_seconds", "5", "--logger_file_level", "debug", "--consumer_group_id", "g", "--service_name", "s", "--topic_name", "t"}, InstallMode)
	if err != nil {
		t.Fatal(err)
	}
	got := o.ServiceArgs("/abs/out", "/abs/c.config", "")
	want := []string{"run", "/abs/out", "--n_threads", "4", "--config", "/abs/c.config", "--logger_file_level", "debug", "--consumer_group_id", "g", "--topic_name", "t", "--service_name", "s"}
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if _, err := Parse([]string{"out", "--config", "c", "--topic_name", "t", "--dry_run"}, ConsoleMode); err == nil {
		t.Error("--dry_run accepted in console mode")
	}
}

func TestCheckServiceName(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"DataFileDownloadDirectory", "lab_dl-2", "a.b", "_x"} {
		if err := CheckServiceName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-x", ".x", "a b", "a/b", `a\b`, "a@b", "x%i", strings.Repeat("a", 81)} {
		if err := CheckServiceName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// The help must explain every option the parser accepts.
func TestHelpMentionsEveryOption(t *testing.T) {
	t.Parallel()
	help := HelpText()
	for _, name := range []string{"--config", "--topic_name", "--consumer_topic_name", "--n_threads", "--consumer_group_id",
		"--download_regex", "--update_seconds", "--logger_stream_level", "--logger_file_level", "--logger_file_path",
		"--heartbeat_topic_name", "--heartbeat_program_id", "--heartbeat_interval_secs",
		"--log_topic_name", "--log_program_id", "--log_interval_secs",
		"--version", "--help", "-h", "re.match", "forward slashes", "create_new", "check", "quit"} {
		if !strings.Contains(help, name) {
			t.Errorf("help does not mention %s", name)
		}
	}
	for _, line := range strings.Split(help, "\n") {
		if len(line) > 100 {
			t.Errorf("help line longer than 100 columns: %q", line)
		}
	}
}
