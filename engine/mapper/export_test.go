package mapper

// IdleMemory returns the largest linear memory, in bytes, of the Mapper's idle instances.
func (mp *Mapper) IdleMemory() uint32 {
	var insts []*instance
	var most uint32
	for {
		select {
		case inst := <-mp.idle:
			insts = append(insts, inst)
			most = max(most, inst.mem.Size())
			continue
		default:
		}
		break
	}
	for _, inst := range insts {
		mp.idle <- inst
	}
	return most
}

// WithoutInterruption returns o set to run calls as the mapper ran them by default before
// the countdown: the module as it is, no time limit, no way to stop a call.
func WithoutInterruption(o Options) Options {
	o.interruption = noInterruption
	return o
}

// WithCloseOnContextDone returns o set to stop calls as CallTimeout did before the
// countdown: wazero's RuntimeConfig.WithCloseOnContextDone.
func WithCloseOnContextDone(o Options) Options {
	o.interruption = closeOnContextDone
	return o
}

// WithOnTick returns o with f run in every call of the countdown's host function.
func WithOnTick(o Options, f func()) Options {
	o.onTick = f
	return o
}
