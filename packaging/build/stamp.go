package main

import (
	"debug/elf"
	"debug/pe"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// appPkg is the package whose Version and Commit the Makefile sets with
// -ldflags -X.
const appPkg = "github.com/openmsi/datafiledownloaddirectory/internal/about"

// checkStamp checks that a program (Linux or Windows, so without running
// it) was linked with -X about.Version=version. Go drops -ldflags from the
// build information under -trimpath, so the string variable is read from
// the binary itself, through its symbol table.
func checkStamp(bin, version string) error {
	got, err := StampedString(bin, appPkg+".Version")
	if err != nil {
		return fmt.Errorf("reading the version of %s (build it with make first): %w", bin, err)
	}
	if got != version {
		return fmt.Errorf("%s is version %q, not %s; rebuild it with make", bin, got, version)
	}
	return nil
}

// image is the part of an executable StampedString needs: where a symbol
// is, and the bytes at a virtual address.
type image interface {
	symbol(name string) (uint64, error)
	read(addr uint64, n int) ([]byte, error)
}

// StampedString returns the value of the Go string variable sym in an
// amd64 ELF or PE executable that still has its symbol table.
func StampedString(bin, sym string) (string, error) {
	var img image
	if f, err := elf.Open(bin); err == nil {
		defer f.Close()
		img = elfImage{f}
	} else if f, err := pe.Open(bin); err == nil {
		defer f.Close()
		img = peImage{f}
	} else {
		return "", errors.New("neither an ELF nor a PE executable")
	}
	addr, err := img.symbol(sym)
	if err != nil {
		return "", err
	}
	// A Go string is a pointer and a length, 8 bytes each on amd64.
	hdr, err := img.read(addr, 16)
	if err != nil {
		return "", err
	}
	ptr, n := binary.LittleEndian.Uint64(hdr), binary.LittleEndian.Uint64(hdr[8:])
	if n == 0 {
		return "", nil
	}
	if n > 1<<10 {
		return "", fmt.Errorf("%s has an implausible length %d", sym, n)
	}
	s, err := img.read(ptr, int(n))
	return string(s), err
}

type elfImage struct{ f *elf.File }

func (e elfImage) symbol(name string) (uint64, error) {
	syms, err := e.f.Symbols()
	if err != nil {
		return 0, err
	}
	for _, s := range syms {
		if s.Name == name {
			return s.Value, nil
		}
	}
	return 0, fmt.Errorf("no symbol %s (stripped binary?)", name)
}

func (e elfImage) read(addr uint64, n int) ([]byte, error) {
	for _, s := range e.f.Sections {
		if s.Type == elf.SHT_NOBITS || addr < s.Addr || addr+uint64(n) > s.Addr+s.Size {
			continue
		}
		b := make([]byte, n)
		_, err := io.ReadFull(io.NewSectionReader(s, int64(addr-s.Addr), int64(n)), b)
		return b, err
	}
	return nil, fmt.Errorf("address %#x is in no section with data", addr)
}

type peImage struct{ f *pe.File }

func (p peImage) base() uint64 {
	if h, ok := p.f.OptionalHeader.(*pe.OptionalHeader64); ok {
		return h.ImageBase
	}
	return 0
}

func (p peImage) symbol(name string) (uint64, error) {
	for _, s := range p.f.Symbols {
		if s.Name != name {
			continue
		}
		if s.SectionNumber < 1 || int(s.SectionNumber) > len(p.f.Sections) {
			return 0, fmt.Errorf("symbol %s is in no section", name)
		}
		sec := p.f.Sections[s.SectionNumber-1]
		return p.base() + uint64(sec.VirtualAddress) + uint64(s.Value), nil
	}
	return 0, fmt.Errorf("no symbol %s (stripped binary?)", name)
}

func (p peImage) read(addr uint64, n int) ([]byte, error) {
	rva := addr - p.base()
	for _, s := range p.f.Sections {
		start := uint64(s.VirtualAddress)
		if rva < start || rva+uint64(n) > start+uint64(s.Size) {
			continue
		}
		b := make([]byte, n)
		_, err := io.ReadFull(io.NewSectionReader(s, int64(rva-start), int64(n)), b)
		return b, err
	}
	return nil, fmt.Errorf("address %#x is in no section with data", addr)
}
