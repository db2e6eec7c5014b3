package config

import (
	"fmt"
	"strings"
)

// maxInterpolationDepth is configparser's MAX_INTERPOLATION_DEPTH.
const maxInterpolationDepth = 10

// lookupOption finds name as configparser's ChainMap does: the section first,
// then [DEFAULT].
func (d *document) lookupOption(sec *section, name string) (*option, bool) {
	if opt, ok := sec.byName[name]; ok {
		return opt, true
	}
	opt, ok := d.defaults.byName[name]
	return opt, ok
}

// interpolate applies configparser's BasicInterpolation to raw as read in
// sec. Nested references are resolved from sec too, not from the section
// that holds the referenced value: configparser does the same, so a
// [DEFAULT] value such as "%(host)s:9092" takes each section's own host.
// The returned problem never quotes text from a referenced value, which
// may be a secret.
func (d *document) interpolate(sec *section, raw string, referencesLeft *int) (string, error) {
	state := interpolation{doc: d, sec: sec, referencesLeft: referencesLeft}
	if err := state.interpolateSome(raw, 1); err != nil {
		return "", err
	}
	return state.out.String(), nil
}

// A few references, nested ten deep, can multiply into billions of copies
// (configparser then runs out of memory). These bounds are far above
// anything a real config needs and turn that into an error; the reference
// budget is shared by a whole section so that a file of many such values
// cannot take minutes either.
const (
	maxReferencesPerSection = 100_000
	maxInterpolatedBytes    = 1 << 20
)

type interpolation struct {
	doc            *document
	sec            *section
	out            strings.Builder
	referencesLeft *int
}

var errTooDeep = fmt.Errorf("its %%(name)s references nest more than %d levels deep; "+
	"is there a loop such as a = %%(b)s and b = %%(a)s?", maxInterpolationDepth)

var errTooLarge = fmt.Errorf("its %%(name)s references expand to more than %d bytes, or the section's to more "+
	"than %d references; values that large are a mistake", maxInterpolatedBytes, maxReferencesPerSection)

func (in *interpolation) interpolateSome(rest string, depth int) error {
	out, sec := &in.out, in.sec
	if depth > maxInterpolationDepth {
		return errTooDeep
	}
	for rest != "" {
		at := strings.IndexByte(rest, '%')
		if at < 0 {
			out.WriteString(rest)
			return nil
		}
		out.WriteString(rest[:at])
		rest = rest[at:]
		var next byte
		if len(rest) > 1 {
			next = rest[1]
		}
		switch next {
		case '%':
			out.WriteByte('%')
			rest = rest[2:]
		case '(':
			// configparser's _KEYCRE, r"%\(([^)]+)\)s".
			closing := strings.IndexByte(rest[2:], ')')
			if closing < 1 || 2+closing+1 >= len(rest) || rest[2+closing+1] != 's' {
				return fmt.Errorf(`it has a "%%(" that is not a complete reference; ` +
					`references are written %%(name)s, and a literal percent sign as %%%%`)
			}
			name := pyLower(rest[2 : 2+closing])
			rest = rest[2+closing+2:]
			*in.referencesLeft--
			if *in.referencesLeft < 0 || out.Len() > maxInterpolatedBytes {
				return errTooLarge
			}
			opt, ok := in.doc.lookupOption(sec, name)
			if !ok {
				return fmt.Errorf("it refers to %%(%s)s, but there is no setting %q in section [%s] or in [DEFAULT]",
					name, name, sec.name)
			}
			if !strings.Contains(opt.value, "%") {
				out.WriteString(opt.value)
				continue
			}
			if err := in.interpolateSome(opt.value, depth+1); err != nil {
				if err == errTooDeep || err == errTooLarge {
					return err
				}
				return fmt.Errorf("through %%(%s)s, %w", name, err)
			}
		default:
			return fmt.Errorf(`it has a "%%" that is not followed by "%%" or "(": configparser reads %% as the ` +
				`start of a %%(name)s reference, so write a literal percent sign as %%%%`)
		}
	}
	return nil
}
