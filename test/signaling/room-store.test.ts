// The in-memory RoomStore against the RoomStore contract (room-store-contract.ts), which a shared store must pass too.
import { MemoryRoomStore } from '../../src/signaling/rooms.js';
import { roomStoreContract } from './room-store-contract.js';

roomStoreContract('MemoryRoomStore', (deliver) => new MemoryRoomStore(deliver));
