package config

import (
	"reflect"
	"testing"
)

func TestExpandEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value, want, unset string
		syntaxProblem      bool
	}{
		{value: "plain", want: "plain"},
		{value: "a$KAFKA_USER", want: "a$KAFKA_USER"},
		{value: "$KAFKA_USER", want: "lab-user"},
		{value: "${KAFKA_USER}", want: "lab-user"},
		{value: "${KAFKA_USER}x", want: "lab-userx"},
		{value: "$KAFKA_USER-x", want: "lab-user-x"},
		{value: "$KAFKA_USER.x", want: "lab-user.x"},
		{value: "$$KAFKA_USER", want: "$lab-user"},
		{value: "$KAFKA_BOOTSTRAP,$KAFKA_BOOTSTRAP", want: "broker.lab:9092,broker.lab:9092"},
		{value: "${KAFKA_USER", syntaxProblem: true},
		{value: "$EMPTY_VARIABLE", want: ""},
		{value: "$SELF_REFERENCE", want: "$SELF_REFERENCE"},
		{value: "$-x$KAFKA_USER", want: "$-xlab-user"},
		// OpenMSIStream keeps "$UNSET" when another variable expanded; we refuse.
		{value: "$KAFKA_USER:$NOT_SET", unset: "NOT_SET"},
		{value: "$NOT_SET", unset: "NOT_SET"},
		{value: "$1", unset: "1"},
		{value: "$", syntaxProblem: true},
		{value: "$ x", syntaxProblem: true},
		{value: "${}", syntaxProblem: true},
		{value: "$é", syntaxProblem: true},
	}
	for _, test := range tests {
		got, problem := expandEnv(test.value, testLookup)
		switch {
		case test.unset != "":
			if problem == nil || problem.variable != test.unset {
				t.Errorf("expandEnv(%q) problem = %+v, want unset %s", test.value, problem, test.unset)
			}
		case test.syntaxProblem:
			if problem == nil || problem.variable != "" {
				t.Errorf("expandEnv(%q) problem = %+v, want a syntax problem", test.value, problem)
			}
		case problem != nil:
			t.Errorf("expandEnv(%q) problem = %+v", test.value, problem)
		case got != test.want:
			t.Errorf("expandEnv(%q) = %q, want %q", test.value, got, test.want)
		}
	}
}

func TestEnvNames(t *testing.T) {
	t.Parallel()
	for value, want := range map[string][]string{
		"$A":         {"A"},
		"${A}:$B_2":  {"A", "B_2"},
		"x$A":        nil,
		"${}$C":      {"C"},
		"$":          nil,
		"${unclosed": nil,
	} {
		if got := envNames(value); !reflect.DeepEqual(got, want) {
			t.Errorf("envNames(%q) = %q, want %q", value, got, want)
		}
	}
}
