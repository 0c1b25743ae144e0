// Command c2sp-check verifies the ledger's checkpoints and proof documents with the Go
// module ecosystem's own transparency-log code (golang.org/x/mod/sumdb/note and
// golang.org/x/mod/sumdb/tlog), independently of the ledger's Swift code.
//
//	c2sp-check -key VKEY checkpoint FILE          a signed checkpoint note
//	c2sp-check -key VKEY [-old FILE] proof FILE   a proof document (docs/EXPORT.md)
//	c2sp-check -key VKEY -witness WVKEY cosigned FILE
//	                                               a checkpoint cosigned by a witness (C2SP tlog-cosignature v1)
//
// It exits 0 when everything verifies, 4 when something does not, 1 on usage errors.
// Build offline against Debian's golang-golang-x-mod-dev:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o c2sp-check ./tools/c2sp-check
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

// openCheckpoint verifies the note's signature with the trusted key and parses the
// C2SP tlog-checkpoint body (origin, decimal size, base64 root).
func openCheckpoint(text []byte, vkey string) (checkpoint, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return checkpoint{}, fmt.Errorf("verifier key: %v", err)
	}
	n, err := note.Open(text, note.VerifierList(v))
	if err != nil {
		return checkpoint{}, fmt.Errorf("note: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		return checkpoint{}, errors.New("checkpoint body is not origin, size and root lines")
	}
	if lines[0] != v.Name() {
		return checkpoint{}, fmt.Errorf("origin %q is not the key's name %q", lines[0], v.Name())
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return checkpoint{}, fmt.Errorf("bad size line %q", lines[1])
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize {
		return checkpoint{}, fmt.Errorf("bad root line %q", lines[2])
	}
	var c checkpoint
	c.origin, c.size = lines[0], size
	copy(c.root[:], raw)
	return c, nil
}

type document struct {
	Checkpoint string   `json:"checkpoint"`
	Format     string   `json:"format"`
	Kind       string   `json:"kind"`
	Seq        int64    `json:"seq"`
	LeafIndex  int64    `json:"leafIndex"`
	Record     string   `json:"record"`
	Path       []string `json:"path"`
	Nodes      []string `json:"nodes"`
	Records    []string `json:"records"`
	FromSeq    int64    `json:"fromSeq"`
	ToSeq      int64    `json:"toSeq"`
	Ticket     string   `json:"ticket"`
	OldSize    int64    `json:"oldSize"`
	OldRoot    string   `json:"oldRoot"`
	Proof      []string `json:"proof"`
}

func hashes(list []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(list))
	for i, s := range list {
		b, err := hex.DecodeString(s)
		if err != nil || len(b) != tlog.HashSize {
			return nil, fmt.Errorf("bad hash %q", s)
		}
		copy(out[i][:], b)
	}
	return out, nil
}

// recordSeq reads the seq of a stored record (docs/FORMAT.md: 0x01, then u64 seq big-endian).
func recordSeq(record []byte) (int64, error) {
	if len(record) < 43 || record[0] != 1 {
		return 0, errors.New("not a stored record")
	}
	return int64(binary.BigEndian.Uint64(record[1:9])), nil
}

// multiLeafRoot rebuilds the RFC 6962 root of a tree of n leaves from the proved leaves
// (index, hash; increasing) and the hashes of the maximal subtrees that hold none of them.
func multiLeafRoot(n int64, idx []int64, leaves []tlog.Hash, nodes []tlog.Hash) (tlog.Hash, error) {
	li, ni := 0, 0
	var fail error
	var build func(lo, hi int64) tlog.Hash
	build = func(lo, hi int64) tlog.Hash {
		if fail != nil {
			return tlog.Hash{}
		}
		if li == len(idx) || idx[li] >= hi {
			if ni == len(nodes) {
				fail = errors.New("too few nodes")
				return tlog.Hash{}
			}
			ni++
			return nodes[ni-1]
		}
		if hi-lo == 1 {
			li++
			return leaves[li-1]
		}
		k := int64(1)
		for k*2 < hi-lo {
			k *= 2
		}
		left := build(lo, lo+k)
		return tlog.NodeHash(left, build(lo+k, hi))
	}
	root := build(0, n)
	if fail == nil && ni != len(nodes) {
		fail = errors.New("unused nodes")
	}
	return root, fail
}

func checkProof(data []byte, vkey string, oldPath string) error {
	var d document
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return fmt.Errorf("document: %v", err)
	}
	if d.Format != "escalation-ledger-proof/1" {
		return fmt.Errorf("unknown format %q", d.Format)
	}
	c, err := openCheckpoint([]byte(d.Checkpoint), vkey)
	if err != nil {
		return err
	}
	switch d.Kind {
	case "inclusion":
		record, err := hex.DecodeString(d.Record)
		if err != nil {
			return err
		}
		if s, err := recordSeq(record); err != nil || s != d.Seq || d.LeafIndex != d.Seq-1 {
			return errors.New("record, seq and leafIndex disagree")
		}
		path, err := hashes(d.Path)
		if err != nil {
			return err
		}
		return tlog.CheckRecord(tlog.RecordProof(path), c.size, c.root, d.LeafIndex, tlog.RecordHash(record))
	case "range", "ticket":
		var idx []int64
		var leaves []tlog.Hash
		for i, r := range d.Records {
			record, err := hex.DecodeString(r)
			if err != nil {
				return err
			}
			s, err := recordSeq(record)
			if err != nil {
				return err
			}
			if s < 1 || s > c.size || (i > 0 && s-1 <= idx[i-1]) {
				return fmt.Errorf("record %d: seq %d out of order or outside the tree", i+1, s)
			}
			if d.Kind == "range" && s != d.FromSeq+int64(i) {
				return fmt.Errorf("record %d: seq %d, expected %d", i+1, s, d.FromSeq+int64(i))
			}
			idx = append(idx, s-1)
			leaves = append(leaves, tlog.RecordHash(record))
		}
		if len(idx) == 0 || (d.Kind == "range" && int64(len(idx)) != d.ToSeq-d.FromSeq+1) {
			return errors.New("records do not cover the proof's subject")
		}
		nodes, err := hashes(d.Nodes)
		if err != nil {
			return err
		}
		root, err := multiLeafRoot(c.size, idx, leaves, nodes)
		if err != nil {
			return err
		}
		if root != c.root {
			return errors.New("records and nodes do not rebuild the checkpoint's root")
		}
		return nil
	case "consistency":
		old, err := hashes([]string{d.OldRoot})
		if err != nil {
			return err
		}
		if oldPath != "" {
			text, err := os.ReadFile(oldPath)
			if err != nil {
				return err
			}
			kept, err := openCheckpoint(text, vkey)
			if err != nil {
				return fmt.Errorf("kept checkpoint: %v", err)
			}
			if kept.size != d.OldSize || kept.root != old[0] {
				return errors.New("the kept checkpoint is not the proof's old tree")
			}
		}
		proof, err := hashes(d.Proof)
		if err != nil {
			return err
		}
		return tlog.CheckTree(tlog.TreeProof(proof), c.size, c.root, d.OldSize, old[0])
	}
	return fmt.Errorf("unknown kind %q", d.Kind)
}

// checkCosignature verifies the cosignature/v1 line of the witness whose verifier key is
// <name>+<hex key ID>+<base64(0x04 || Ed25519 public key)> on a checkpoint already opened.
func checkCosignature(text []byte, wkey string) error {
	parts := strings.SplitN(wkey, "+", 3)
	if len(parts) != 3 {
		return errors.New("bad witness key")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 33 || raw[0] != 4 {
		return errors.New("the witness key is not a cosignature/v1 Ed25519 key")
	}
	id := sha256.Sum256(append([]byte(parts[0]+"\n"), raw...))
	if hex.EncodeToString(id[:4]) != parts[1] {
		return errors.New("the witness key's ID does not match")
	}
	split := bytes.LastIndex(text, []byte("\n\n"))
	if split < 0 {
		return errors.New("not a note")
	}
	body := text[:split+1]
	for _, line := range strings.Split(string(text[split+2:]), "\n") {
		prefix := "\u2014 " + parts[0] + " "
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(line[len(prefix):])
		if err != nil || len(sig) != 4+8+64 || !bytes.Equal(sig[:4], id[:4]) {
			continue
		}
		t := binary.BigEndian.Uint64(sig[4:12])
		msg := append([]byte(fmt.Sprintf("cosignature/v1\ntime %d\n", t)), body...)
		if ed25519.Verify(ed25519.PublicKey(raw[1:]), msg, sig[12:]) {
			return nil
		}
		return errors.New("the cosignature does not verify")
	}
	return errors.New("no cosignature by the witness")
}

func main() {
	key := flag.String("key", "", "the ledger's note verifier key (ledger key)")
	old := flag.String("old", "", "with proof: a kept checkpoint a consistency proof must start from")
	witness := flag.String("witness", "", "with cosigned: the witness's verifier key (ledger witness key)")
	flag.Parse()
	if *key == "" || flag.NArg() != 2 || (flag.Arg(0) != "checkpoint" && flag.Arg(0) != "proof" && flag.Arg(0) != "cosigned") {
		fmt.Fprintln(os.Stderr, "usage: c2sp-check -key VKEY checkpoint FILE | c2sp-check -key VKEY [-old FILE] proof FILE | c2sp-check -key VKEY -witness WVKEY cosigned FILE")
		os.Exit(1)
	}
	data, err := os.ReadFile(flag.Arg(1))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if flag.Arg(0) == "cosigned" {
		if _, err = openCheckpoint(data, *key); err == nil {
			if err = checkCosignature(data, *witness); err == nil {
				fmt.Println("ok: checkpoint signed by the log and cosigned by the witness")
			}
		}
	} else if flag.Arg(0) == "checkpoint" {
		var c checkpoint
		if c, err = openCheckpoint(data, *key); err == nil {
			fmt.Printf("ok: checkpoint of %s, size %d\n", c.origin, c.size)
		}
	} else if err = checkProof(data, *key, *old); err == nil {
		fmt.Println("ok: proof verified")
	}
	if err != nil {
		fmt.Println("FAILED:", err)
		os.Exit(4)
	}
}
