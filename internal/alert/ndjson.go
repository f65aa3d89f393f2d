package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
)

// ndjsonSink writes one alert per line, to the caller's writer or
// appended to a file (opened for each message, so that it can be rotated).
type ndjsonSink struct {
	mu   sync.Mutex
	w    io.Writer
	path string
}

func newNDJSON(c *NDJSONConfig, env *Env) (*ndjsonSink, error) {
	if c.Path == "" || c.Path == "-" {
		if env.Stdout == nil {
			return nil, fmt.Errorf("ndjson: no writer for standard output")
		}
		return &ndjsonSink{w: env.Stdout}, nil
	}
	return &ndjsonSink{path: c.Path}, nil
}

func (s *ndjsonSink) Send(ctx context.Context, m *Message) error {
	var buf []byte
	for i := range m.Alerts {
		b, err := json.Marshal(&m.Alerts[i])
		if err != nil {
			return err
		}
		buf = append(append(buf, b...), '\n')
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.path == "" {
		_, err := s.w.Write(buf)
		return err
	}
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("ndjson: %w", err)
	}
	if _, err := f.Write(buf); err != nil {
		f.Close()
		return fmt.Errorf("ndjson: %w", err)
	}
	return f.Close()
}
