package zones

import "sync"

// feed fans a "something changed" signal out to subscribers without ever
// blocking the writer.
type feed struct {
	mu   sync.Mutex
	next int
	subs map[int]chan struct{}
}

func (f *feed) subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.subs == nil {
		f.subs = map[int]chan struct{}{}
	}
	id := f.next
	f.next++
	f.subs[id] = ch
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			f.mu.Lock()
			delete(f.subs, id)
			f.mu.Unlock()
		})
	}
}

// notify leaves one pending signal in every subscriber's channel; a
// signal already pending already covers this change.
func (f *feed) notify() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ch := range f.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
