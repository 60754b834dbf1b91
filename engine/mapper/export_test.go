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
