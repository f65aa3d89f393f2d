package resolver_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"

	"github.com/dnsscout/dnsscout/internal/resolver"
	"github.com/miekg/dns"
)

// startExampleServer runs a tiny authoritative server for example.com on
// loopback and returns its address and a stop function.
func startExampleServer() (netip.AddrPort, func()) {
	pc, err := net.ListenPacket("udp4", "127.53.209.240:0")
	if err != nil {
		panic(err)
	}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		m.Authoritative = true
		if req.Question[0].Name == "www.example.com." && req.Question[0].Qtype == dns.TypeA {
			rr, _ := dns.NewRR("www.example.com. 300 IN A 192.0.2.10")
			m.Answer = append(m.Answer, rr)
		} else {
			m.Rcode = dns.RcodeNameError
		}
		if opt := req.IsEdns0(); opt != nil {
			m.SetEdns0(1232, false)
			m.IsEdns0().Option = append(m.IsEdns0().Option,
				&dns.EDNS0_NSID{Code: dns.EDNS0NSID, Nsid: hex.EncodeToString([]byte("ns1.example.com"))})
		}
		w.WriteMsg(m)
	})
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: h, NotifyStartedFunc: func() { close(started) }}
	go srv.ActivateAndServe()
	<-started
	return pc.LocalAddr().(*net.UDPAddr).AddrPort(), func() { srv.Shutdown() }
}

func ExampleResolver_Exchange() {
	addr, stop := startExampleServer()
	defer stop()

	r, err := resolver.New(resolver.Options{Servers: []netip.AddrPort{addr}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()

	ctx := context.Background()
	for _, name := range []string{"www.example.com", "nope.example.com"} {
		resp, err := r.Exchange(ctx, resolver.Query{Name: name, Type: dns.TypeA})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(name, dns.RcodeToString[resp.Msg.Rcode], len(resp.Msg.Answer))
	}
	st := r.Stats()
	fmt.Println("queries", st.Queries, "responses", st.Responses, "dropped", st.Dropped)
	// Output:
	// www.example.com NOERROR 1
	// nope.example.com NXDOMAIN 0
	// queries 2 responses 2 dropped 0
}

func ExampleResolver_Direct() {
	addr, stop := startExampleServer()
	defer stop()

	r, err := resolver.New(resolver.Options{}) // no pool: Direct only
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()

	resp, err := r.Direct(context.Background(), addr, resolver.Query{Name: "www.example.com", Type: dns.TypeA, NSID: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("authoritative:", resp.Msg.Authoritative, "recursion desired:", resp.Msg.RecursionDesired)
	fmt.Println("nsid:", resolver.NSID(resp.Msg))
	// Output:
	// authoritative: true recursion desired: false
	// nsid: ns1.example.com
}
