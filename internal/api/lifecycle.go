package api

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// Serve answers the API on ln until ctx ends, then shuts down gracefully:
// it stops accepting, lets the requests in progress finish for
// Options.ShutdownTimeout (and cuts those still running), closes the
// admin socket, and saves the keys' usage. Meanwhile it runs the
// background work (Run), the key manager's flushing, and the admin
// channel on Options.AdminSocket. With Options.TLS it serves HTTPS on
// ln. It returns nil after a shutdown by ctx, else the listener's error.
// The store stays open: it is the caller's.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	o := &s.opt
	hs := s.httpServer()
	if o.TLS != nil {
		hs.TLSConfig = o.TLS
		ln = tls.NewListener(ln, o.TLS)
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() { s.Run(runCtx) })
	if s.keys != nil {
		wg.Go(func() { s.keys.Run(runCtx, o.KeysFlushInterval) })
	}
	admin := s.serveAdmin(&wg)
	s.log.Info("serving", "addr", ln.Addr().String(), "tls", o.TLS != nil, "auth", s.authRequired(), "recon", s.recon != nil)
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()

	var err error
	select {
	case <-ctx.Done():
		s.log.Info("shutting down", "grace", o.ShutdownTimeout)
	case e := <-serveErr:
		if !errors.Is(e, http.ErrServerClosed) {
			err = fmt.Errorf("api: serve: %w", e)
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.ShutdownTimeout)
	defer cancel()
	if e := hs.Shutdown(sctx); e != nil {
		s.log.Warn("requests still running at the end of the grace period were cut", "err", e)
		hs.Close()
	}
	if admin != nil {
		_ = admin.Shutdown(sctx)
		os.Remove(o.AdminSocket)
	}
	stop()
	wg.Wait()
	return err
}

// httpServer is the net/http server with the deadlines of Options.
// Answers have no overall write deadline (long lookups stream): each
// write has its own (call.go), as each body read has.
func (s *Server) httpServer() *http.Server {
	o := &s.opt
	return &http.Server{
		Handler:           s,
		ReadHeaderTimeout: o.HeaderTimeout,
		ReadTimeout:       o.HeaderTimeout + o.BodyTimeout,
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		ConnContext:       withAuthMemo,
	}
}

// serveAdmin starts the admin channel on Options.AdminSocket; nil when
// there is none. A socket that cannot be opened is logged: "dnsscout
// keys" then needs the server stopped.
func (s *Server) serveAdmin(wg *sync.WaitGroup) *http.Server {
	sock := s.opt.AdminSocket
	if sock == "" || s.keys == nil {
		return nil
	}
	ln, err := listenAdmin(sock)
	if err != nil {
		s.log.Warn("no admin socket; \"dnsscout keys\" needs the server stopped", "socket", sock, "err", err)
		return nil
	}
	admin := &http.Server{Handler: AdminHandler(s.keys), ReadHeaderTimeout: 10 * time.Second}
	wg.Go(func() { _ = admin.Serve(ln) })
	s.log.Info("admin socket ready", "socket", sock)
	return admin
}

// listenAdmin opens the admin socket with mode 0600, replacing a stale
// socket file (one nobody answers on).
func listenAdmin(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s is in use by another server", path)
		}
		os.Remove(path)
	}
	// With the usual umask the socket is created without write permission
	// for others (which connecting needs); chmod narrows it to the user.
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}
