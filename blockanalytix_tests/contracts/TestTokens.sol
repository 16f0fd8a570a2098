// SPDX-License-Identifier: Apache-2.0
// Test contracts for the contracts/tokens comparison with ethereum-etl (integration/test_tokens_ethereum_etl.py).
pragma solidity 0.8.30;

/// The ERC-20 core every test token shares: balances, allowances, Transfer and Approval events.
abstract contract Erc20Core {
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    // payable: solc then checks callvalue per function, not in the first basic block (which would then end
    // before the selector dispatch, and ethereum-etl would see no function sighashes)
    receive() external payable {}

    function _mint(address to, uint256 value) internal {
        totalSupply += value;
        balanceOf[to] += value;
        emit Transfer(address(0), to, value);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        balanceOf[msg.sender] -= value;
        balanceOf[to] += value;
        emit Transfer(msg.sender, to, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        allowance[from][msg.sender] -= value;
        balanceOf[from] -= value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }
}

/// A USDC-like token: string name and symbol, 6 decimals.
contract Token6 is Erc20Core {
    string public name;
    string public symbol;
    uint8 public constant decimals = 6;

    constructor(string memory name_, string memory symbol_, uint256 supply) {
        name = name_;
        symbol = symbol_;
        _mint(msg.sender, supply);
    }
}

/// An MKR-like token: bytes32 symbol; a bytes32 name that is not UTF-8 (ethereum-etl gives null).
contract Bytes32Token is Erc20Core {
    bytes32 public constant symbol = "MKR";
    bytes32 public constant name = hex"ff4d616b6572";
    uint256 public constant decimals = 18;

    constructor(uint256 supply) {
        _mint(msg.sender, supply);
    }
}

/// A token whose symbol() reverts and which has neither name() nor decimals().
contract NoMetadataToken is Erc20Core {
    function symbol() external pure returns (string memory) {
        revert("no symbol");
    }

    constructor(uint256 supply) {
        _mint(msg.sender, supply);
    }
}

/// A minimal ERC-721: Transfer(from, to, tokenId) with the id indexed.
contract Nft {
    string public constant name = "Test Kitties";
    string public constant symbol = "TK";
    mapping(uint256 => address) public ownerOf;
    mapping(address => uint256) public balanceOf;
    mapping(uint256 => address) public getApproved;
    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
    event Approval(address indexed owner, address indexed approved, uint256 indexed tokenId);

    receive() external payable {} // as in Erc20Core: keeps the dispatch in the first basic block

    function mint(address to, uint256 id) external {
        require(ownerOf[id] == address(0), "minted");
        ownerOf[id] = to;
        balanceOf[to] += 1;
        emit Transfer(address(0), to, id);
    }

    function approve(address to, uint256 id) external {
        require(ownerOf[id] == msg.sender, "not owner");
        getApproved[id] = to;
        emit Approval(msg.sender, to, id);
    }

    function transferFrom(address from, address to, uint256 id) external {
        require(ownerOf[id] == from && (msg.sender == from || getApproved[id] == msg.sender), "not allowed");
        ownerOf[id] = to;
        balanceOf[from] -= 1;
        balanceOf[to] += 1;
        delete getApproved[id];
        emit Transfer(from, to, id);
    }
}

/// Creates tokens from a contract (internal create traces), and one create that reverts.
contract Factory {
    event Made(address token);

    function makeToken6(string calldata name_, string calldata symbol_, uint256 supply) external returns (address) {
        Token6 t = new Token6(name_, symbol_, supply);
        t.transfer(msg.sender, supply);
        emit Made(address(t));
        return address(t);
    }

    function makeNft() external returns (address) {
        Nft n = new Nft();
        n.mint(msg.sender, 1);
        emit Made(address(n));
        return address(n);
    }

    function makeAndRevert() external {
        new Nft();
        revert("undone");
    }
}
