package kafkacrypto

import (
	"errors"
	"fmt"

	"github.com/tinylib/msgp/msgp"
)

// maxDepth bounds nesting, so hostile input cannot exhaust the stack.
const maxDepth = 16

// unpack decodes the one MessagePack object that b holds, as kafkacrypto
// sees it with msgpack.unpackb(raw=True): str and bin both become []byte,
// integers int64 (uint64 above its range), floats float64, arrays []any,
// nil and bool themselves. Maps, extensions and trailing bytes are errors:
// KafkaCrypto never sends the first two, and unpackb refuses the last.
func unpack(b []byte) (any, error) {
	v, rest, err := unpackOne(b, 0)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("msgpack: %d bytes after the object", len(rest))
	}
	return v, nil
}

func unpackOne(b []byte, depth int) (any, []byte, error) {
	if len(b) == 0 {
		return nil, nil, errors.New("msgpack: unexpected end of data")
	}
	switch t := msgp.NextType(b); t {
	case msgp.StrType:
		return cp(msgp.ReadStringZC(b))
	case msgp.BinType:
		return cp(msgp.ReadBytesZC(b))
	case msgp.IntType:
		return msgp.ReadInt64Bytes(b)
	case msgp.UintType:
		u, rest, err := msgp.ReadUint64Bytes(b)
		if err == nil && u <= 1<<63-1 {
			return int64(u), rest, nil
		}
		return u, rest, err
	case msgp.Float64Type:
		return msgp.ReadFloat64Bytes(b)
	case msgp.Float32Type:
		f, rest, err := msgp.ReadFloat32Bytes(b)
		return float64(f), rest, err
	case msgp.NilType:
		rest, err := msgp.ReadNilBytes(b)
		return nil, rest, err
	case msgp.BoolType:
		return msgp.ReadBoolBytes(b)
	case msgp.ArrayType:
		if depth >= maxDepth {
			return nil, nil, errors.New("msgpack: nested too deeply")
		}
		n, rest, err := msgp.ReadArrayHeaderBytes(b)
		if err != nil {
			return nil, nil, err
		}
		if int64(n) > int64(len(rest)) { // every item takes at least a byte
			return nil, nil, errors.New("msgpack: array longer than the data")
		}
		items := make([]any, 0, n)
		for range n {
			var item any
			if item, rest, err = unpackOne(rest, depth+1); err != nil {
				return nil, nil, err
			}
			items = append(items, item)
		}
		return items, rest, nil
	default:
		return nil, nil, fmt.Errorf("msgpack: unexpected %s", t)
	}
}

// cp copies a zero-copy string or bin, so that decoded values never alias
// a Kafka message buffer.
func cp(v []byte, rest []byte, err error) (any, []byte, error) {
	if err != nil {
		return nil, nil, err
	}
	return append([]byte{}, v...), rest, nil
}

func asBytes(v any, what string) ([]byte, error) {
	b, ok := v.([]byte)
	if !ok {
		return nil, fmt.Errorf("%s: expected bytes, found %s", what, typeName(v))
	}
	return b, nil
}

func asArray(v any, what string) ([]any, error) {
	a, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: expected an array, found %s", what, typeName(v))
	}
	return a, nil
}

// asNumber reads a number as Python compares them (int and float alike).
func asNumber(v any, what string) (float64, error) {
	switch n := v.(type) {
	case int64:
		return float64(n), nil
	case uint64:
		return float64(n), nil
	case float64:
		return n, nil
	}
	return 0, fmt.Errorf("%s: expected a number, found %s", what, typeName(v))
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "nil"
	case []byte:
		return "bytes"
	case []any:
		return "an array"
	case int64, uint64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

// pack encodes the few shapes this package sends, as Python's
// msgpack.packb(use_bin_type=True) would: []byte as bin, string as str,
// float64 as float 64, ints, nested []any.
func pack(v any) []byte { return appendPacked(nil, v) }

func appendPacked(b []byte, v any) []byte {
	switch x := v.(type) {
	case []byte:
		return msgp.AppendBytes(b, x)
	case string:
		return msgp.AppendString(b, x)
	case float64:
		return msgp.AppendFloat64(b, x)
	case int64:
		if x >= 0 {
			return msgp.AppendUint64(b, uint64(x))
		}
		return msgp.AppendInt64(b, x)
	case int:
		return appendPacked(b, int64(x))
	case uint64:
		return msgp.AppendUint64(b, x)
	case bool:
		return msgp.AppendBool(b, x)
	case nil:
		return msgp.AppendNil(b)
	case []any:
		b = msgp.AppendArrayHeader(b, uint32(len(x)))
		for _, item := range x {
			b = appendPacked(b, item)
		}
		return b
	case []string:
		b = msgp.AppendArrayHeader(b, uint32(len(x)))
		for _, item := range x {
			b = msgp.AppendString(b, item)
		}
		return b
	}
	panic(fmt.Sprintf("kafkacrypto: cannot pack %T", v)) // a bug in this package, never input
}
