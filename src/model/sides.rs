use serde::Serialize;

/// Which input: the first image given (input 0) or the second (input 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Side {
    Input0,
    Input1,
}

impl Side {
    pub const BOTH: [Side; 2] = [Side::Input0, Side::Input1];

    pub fn index(self) -> usize {
        match self {
            Side::Input0 => 0,
            Side::Input1 => 1,
        }
    }

    /// The other input.
    pub fn other(self) -> Side {
        match self {
            Side::Input0 => Side::Input1,
            Side::Input1 => Side::Input0,
        }
    }

    /// `input0` / `input1`, as messages name the inputs.
    pub fn name(self) -> &'static str {
        match self {
            Side::Input0 => "input0",
            Side::Input1 => "input1",
        }
    }
}

/// One value per input, like delta's `MinusPlus<T>`: the old/new pair travels as one thing.
/// Serialises as a two-element JSON array `[input0, input1]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Sides<T> {
    pub input0: T,
    pub input1: T,
}

impl<T> Sides<T> {
    pub fn new(input0: T, input1: T) -> Self {
        Sides { input0, input1 }
    }

    pub fn from_fn(mut f: impl FnMut(Side) -> T) -> Self {
        Sides {
            input0: f(Side::Input0),
            input1: f(Side::Input1),
        }
    }

    pub fn get(&self, side: Side) -> &T {
        match side {
            Side::Input0 => &self.input0,
            Side::Input1 => &self.input1,
        }
    }

    pub fn get_mut(&mut self, side: Side) -> &mut T {
        match side {
            Side::Input0 => &mut self.input0,
            Side::Input1 => &mut self.input1,
        }
    }

    /// `side`'s value and the other side's, both mutable.
    pub fn split_mut(&mut self, side: Side) -> (&mut T, &mut T) {
        match side {
            Side::Input0 => (&mut self.input0, &mut self.input1),
            Side::Input1 => (&mut self.input1, &mut self.input0),
        }
    }

    pub fn as_ref(&self) -> Sides<&T> {
        Sides {
            input0: &self.input0,
            input1: &self.input1,
        }
    }

    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> Sides<U> {
        Sides {
            input0: f(self.input0),
            input1: f(self.input1),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (Side, &T)> {
        [(Side::Input0, &self.input0), (Side::Input1, &self.input1)].into_iter()
    }
}

impl<T: PartialEq> Sides<T> {
    pub fn differ(&self) -> bool {
        self.input0 != self.input1
    }
}

impl<T: Serialize> Serialize for Sides<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (&self.input0, &self.input1).serialize(s)
    }
}
