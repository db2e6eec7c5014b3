package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// The environment variables that turn on Authenticode signing of the .exe
// and the .msi (documented in README.md, "Install").
const (
	envSignCert     = "DFDD_SIGN_CERT"          // PEM (or DER) certificate, with its chain
	envSignKey      = "DFDD_SIGN_KEY"           // PEM (or DER) private key
	envSignPassword = "DFDD_SIGN_KEY_PASSWORD"  // the key's password, if it has one
	envSignTSA      = "DFDD_SIGN_TIMESTAMP_URL" // RFC 3161 time-stamp server, optional
)

// homepage goes into the signature as the publisher's URL.
const homepage = "https://github.com/openmsi/datafiledownloaddirectory"

type signer struct {
	cert, key, password, tsa string
}

// signerFromEnv returns nil when no certificate is configured: the
// packages are then built unsigned.
func signerFromEnv() (*signer, error) {
	s := &signer{
		cert:     os.Getenv(envSignCert),
		key:      os.Getenv(envSignKey),
		password: os.Getenv(envSignPassword),
		tsa:      os.Getenv(envSignTSA),
	}
	switch {
	case s.cert == "" && s.key == "":
		return nil, nil
	case s.cert == "" || s.key == "":
		return nil, fmt.Errorf("to sign, set both %s (certificate file) and %s (private key file); only one is set", envSignCert, envSignKey)
	}
	for _, f := range []string{s.cert, s.key} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("signing: %w", err)
		}
	}
	if _, err := exec.LookPath("osslsigncode"); err != nil {
		return nil, errors.New("signing needs osslsigncode (apt-get install osslsigncode)")
	}
	return s, nil
}

// sign writes an Authenticode-signed (SHA-256) copy of in to out.
func (s *signer) sign(in, out string) error {
	args := []string{"sign", "-certs", s.cert, "-key", s.key, "-h", "sha256",
		"-n", Name, "-i", homepage}
	if s.password != "" {
		// In a file, not on the command line where ps would show it.
		dir, err := os.MkdirTemp("", "dfdd-sign-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		pass := filepath.Join(dir, "pass")
		if err := os.WriteFile(pass, []byte(s.password), 0o600); err != nil {
			return err
		}
		args = append(args, "-readpass", pass)
	}
	if s.tsa != "" {
		args = append(args, "-ts", s.tsa)
	}
	args = append(args, "-in", in, "-out", out)
	// osslsigncode refuses to overwrite its output.
	if err := os.Remove(out); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	cmd := exec.Command("osslsigncode", args...)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("signing %s with osslsigncode failed: %w\n%s", filepath.Base(in), err, output.Bytes())
	}
	return nil
}
