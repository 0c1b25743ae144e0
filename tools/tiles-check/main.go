// Command tiles-check reads a running `ledger serve` as a C2SP tlog-tiles client would, with the
// Go module ecosystem's own transparency-log code (golang.org/x/mod/sumdb/note and
// golang.org/x/mod/sumdb/tlog), independently of the ledger's Swift code: it verifies the signed
// checkpoint with the ledger's verifier key, rebuilds the tree from the hash tiles, and proves
// every entry of the entry tiles included in that tree.
//
//	tiles-check -key VKEY [-token TOKEN] URL
//
// It prints "ok SIZE" and exits 0 when everything verifies, 4 when something does not, 1 on
// usage errors. Build offline against Debian's golang-golang-x-mod-dev:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o tiles-check ./tools/tiles-check
package main

import (
	"bytes"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

var (
	base  string
	token string
)

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "tiles-check: "+format+"\n", args...)
	os.Exit(code)
}

func get(path string, auth bool) ([]byte, error) {
	req, err := http.NewRequest("GET", base+"/"+path, nil)
	if err != nil {
		return nil, err
	}
	if auth && token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	return body, nil
}

// c2spPath maps x/mod's sumdb tile path (tile/8/L/N, tile/8/data/N) to C2SP tlog-tiles (tile/L/N, tile/entries/N).
func c2spPath(t tlog.Tile) string {
	p := strings.Replace(t.Path(), "tile/8/", "tile/", 1)
	return strings.Replace(p, "tile/data/", "tile/entries/", 1)
}

type reader struct{}

func (reader) Height() int { return 8 }

func (reader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := get(c2spPath(t), false)
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

func (reader) SaveTiles([]tlog.Tile, [][]byte) {}

func main() {
	key := flag.String("key", "", "the ledger's note verifier key file (ledger key)")
	flag.StringVar(&token, "token", "", "a bearer token for the entry tiles (auditor)")
	flag.Parse()
	if *key == "" || flag.NArg() != 1 {
		fail(1, "usage: tiles-check -key VKEY [-token TOKEN] URL")
	}
	base = strings.TrimSuffix(flag.Arg(0), "/")
	vkey, err := os.ReadFile(*key)
	if err != nil {
		fail(1, "%v", err)
	}
	verifier, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		fail(1, "bad key: %v", err)
	}
	signed, err := get("checkpoint", false)
	if err != nil {
		fail(4, "%v", err)
	}
	n, err := note.Open(signed, note.VerifierList(verifier))
	if err != nil {
		fail(4, "the checkpoint does not verify: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 {
		fail(4, "the checkpoint body has %d lines", len(lines))
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail(4, "bad tree size %q", lines[1])
	}
	rootBytes, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(rootBytes) != tlog.HashSize {
		fail(4, "bad root hash %q", lines[2])
	}
	var root tlog.Hash
	copy(root[:], rootBytes)
	hr := tlog.TileHashReader(tlog.Tree{N: size, Hash: root}, reader{})
	th, err := tlog.TreeHash(size, hr)
	if err != nil || th != root {
		fail(4, "the hash tiles do not rebuild the checkpoint's root: %v", err)
	}
	// Every entry, from the entry tiles, proved included.
	for start := int64(0); start < size; start += 256 {
		w := size - start
		if w > 256 {
			w = 256
		}
		t := tlog.Tile{H: 8, L: -1, N: start / 256, W: int(w)}
		bundle, err := get(c2spPath(t), true)
		if err != nil {
			fail(4, "%v", err)
		}
		r := bytes.NewReader(bundle)
		for i := int64(0); i < w; i++ {
			var l [2]byte
			if _, err := io.ReadFull(r, l[:]); err != nil {
				fail(4, "entry bundle %d ends early", t.N)
			}
			data := make([]byte, int(l[0])<<8|int(l[1]))
			if _, err := io.ReadFull(r, data); err != nil {
				fail(4, "entry bundle %d ends early", t.N)
			}
			index := start + i
			proof, err := tlog.ProveRecord(size, index, hr)
			if err != nil {
				fail(4, "no proof for entry %d: %v", index, err)
			}
			if err := tlog.CheckRecord(proof, size, root, index, tlog.RecordHash(data)); err != nil {
				fail(4, "entry %d is not in the tree: %v", index, err)
			}
		}
		if r.Len() != 0 {
			fail(4, "entry bundle %d has %d bytes too many", t.N, r.Len())
		}
	}
	fmt.Printf("ok %d\n", size)
}
