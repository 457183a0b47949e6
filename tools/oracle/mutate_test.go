package oracle

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/cqlwire/cqlwire/frame"
	oframe "github.com/datastax/go-cassandra-native-protocol/frame"
)

// TestMutations decodes corrupted envelopes with both libraries: random
// bytes of valid bodies are changed, and whenever both decoders accept the
// result (whole body consumed), they must agree on what it says. The oracle
// sees a corrupted envelope only after cqlwire accepted it: the oracle
// allocates whatever a length field says, so garbage can exhaust memory.
func TestMutations(t *testing.T) {
	n := perKind() / 4
	for _, v := range []frame.Version{frame.V4, frame.V5} {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			t.Parallel()
			for _, k := range kinds {
				name := fmt.Sprintf("mutations/v%d/%s", v, k.name)
				r := newRand(name)
				failures := 0
				for i := range n {
					g := newGen(r, v)
					g.compat = true
					env := g.envelope(k.gen(g))
					if g.skips.oracleDecode != "" {
						continue
					}
					wire, err := frame.AppendEnvelope(nil, env, nil)
					if err != nil || len(wire) == frame.HeaderSize {
						continue
					}
					for range 3 {
						m := bytes.Clone(wire)
						for range 1 + r.IntN(3) {
							m[frame.HeaderSize+r.IntN(len(m)-frame.HeaderSize)] = byte(r.Uint32())
						}
						d, used, err := frame.DecodeEnvelope(m, nil)
						if err != nil || used != len(m) {
							continue
						}
						// Known divergences are skipped before the oracle
						// sees them: parsed differently, the rest of the body
						// can make it allocate gigabytes.
						if s := mutationSkip(d); s != "" {
							countSkip(s)
							continue
						}
						rd := bytes.NewReader(m)
						of, err := decodeOracleSafely(rd)
						if err != nil || rd.Len() != 0 {
							continue
						}
						stats.mutations.Add(1)
						if ds := diff(projectEnv(d), projectEnv(fromOracleEnv(of))); len(ds) > 0 {
							t.Errorf("%s message %d: both accept %x but differ:\n  %s\ncqlwire:\n%s",
								k.name, i, m, strings.Join(ds, "\n  "), describe(d))
							if failures++; failures > 3 {
								t.FailNow()
							}
						}
					}
				}
			}
		})
	}
}

// decodeOracleSafely turns the oracle's panics on hostile input into errors.
func decodeOracleSafely(rd *bytes.Reader) (f *oframe.Frame, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("oracle panic: %v", p)
		}
	}()
	return oframe.NewCodec().DecodeFrame(rd)
}

// Disagreements that only corrupted bytes reach (no encoder produces them).
const (
	// Oracle wrong: it reads <new_metadata_id> whenever METADATA_CHANGED
	// (0x0008) is set, in v4 too. The flag is v5 only: Cassandra writes the
	// id only "if (version.isGreaterOrEqualTo(V5) && metadataChanged)"
	// (cql3/ResultSet.java, ResultMetadata codec), as cqlwire reads it.
	skipV4MetadataChanged skip = "mutation: METADATA_CHANGED in v4: the oracle reads a v5 field"
	// The oracle implements DSE continuous paging: with rows flag
	// 0x40000000 it reads a page number. Cassandra defines no such flag and
	// ignores unknown bits (ResultMetadata Flag.deserialize); so does
	// cqlwire.
	skipDSEContinuousPaging skip = "mutation: DSE continuous paging rows flag"
	// Named values with a repeated name: the oracle keeps them in a map and
	// loses one; the server reads a list (CBUtil.readNameAndValueList), as
	// cqlwire does.
	skipDuplicateNames skip = "mutation: repeated value name"
	// Oracle wrong: for the bind markers of a Prepared result it reads the
	// <global_table_spec> only when there are markers, though the spec
	// sends it whenever the flag is set (as it does for Rows), and gocql,
	// the Java and Rust drivers and cqlwire read it so. Cassandra sets the
	// flag only with markers.
	skipPreparedGlobalNoMarkers skip = "mutation: Prepared global table spec without bind markers"
)

func mutationSkip(e *frame.Envelope) skip {
	metaSkip := func(f frame.MetadataFlags) skip {
		switch {
		case e.Version < frame.V5 && f&frame.MetaMetadataChanged != 0:
			return skipV4MetadataChanged
		case f&0x40000000 != 0:
			return skipDSEContinuousPaging
		}
		return ""
	}
	dup := func(p *frame.QueryParams) skip {
		seen := map[string]bool{}
		for _, n := range p.Names {
			if seen[n] {
				return skipDuplicateNames
			}
			seen[n] = true
		}
		return ""
	}
	switch m := e.Message.(type) {
	case *frame.Rows:
		return metaSkip(m.Metadata.Flags)
	case *frame.Prepared:
		if m.Params.Flags&frame.MetaGlobalTablesSpec != 0 && len(m.Params.Columns) == 0 {
			return skipPreparedGlobalNoMarkers
		}
		return metaSkip(m.Result.Flags)
	case *frame.Query:
		return dup(&m.Params)
	case *frame.Execute:
		return dup(&m.Params)
	}
	return ""
}
