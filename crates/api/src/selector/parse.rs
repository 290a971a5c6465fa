//! Lexer and recursive-descent parser for the label selector query form.

use super::{Operator, Requirement, Result, SelectorError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Token {
    Ident(String),
    Comma,
    Open,
    Close,
    Eq,
    DoubleEq,
    NotEq,
    Bang,
    Gt,
    Lt,
    In,
    NotIn,
}

impl Token {
    pub(super) fn text(&self) -> &str {
        match self {
            Token::Ident(s) => s,
            Token::Comma => ",",
            Token::Open => "(",
            Token::Close => ")",
            Token::Eq => "=",
            Token::DoubleEq => "==",
            Token::NotEq => "!=",
            Token::Bang => "!",
            Token::Gt => ">",
            Token::Lt => "<",
            Token::In => "in",
            Token::NotIn => "notin",
        }
    }
}

pub(super) fn lex(s: &str) -> Result<Vec<Token>> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            c if c.is_whitespace() => i += 1,
            ',' => {
                out.push(Token::Comma);
                i += 1;
            }
            '(' => {
                out.push(Token::Open);
                i += 1;
            }
            ')' => {
                out.push(Token::Close);
                i += 1;
            }
            '>' => {
                out.push(Token::Gt);
                i += 1;
            }
            '<' => {
                out.push(Token::Lt);
                i += 1;
            }
            '=' if next == Some('=') => {
                out.push(Token::DoubleEq);
                i += 2;
            }
            '=' => {
                out.push(Token::Eq);
                i += 1;
            }
            '!' if next == Some('=') => {
                out.push(Token::NotEq);
                i += 2;
            }
            '!' => {
                out.push(Token::Bang);
                i += 1;
            }
            _ => {
                let start = i;
                while i < chars.len() && !chars[i].is_whitespace() && !",()=!<>".contains(chars[i])
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                out.push(match word.as_str() {
                    "in" => Token::In,
                    "notin" => Token::NotIn,
                    _ => Token::Ident(word),
                });
            }
        }
    }
    Ok(out)
}

pub(super) struct Parser {
    pub(super) tokens: Vec<Token>,
    pub(super) pos: usize,
}

impl Parser {
    pub(super) fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    pub(super) fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn ident(&mut self, what: &str) -> Result<String> {
        match self.next() {
            Some(Token::Ident(s)) => Ok(s),
            // Keywords are valid label keys/values in identifier position.
            Some(Token::In) => Ok("in".into()),
            Some(Token::NotIn) => Ok("notin".into()),
            Some(t) => Err(SelectorError::Parse(format!(
                "found '{}', expected: {what}",
                t.text()
            ))),
            None => Err(SelectorError::Parse(format!("found '', expected: {what}"))),
        }
    }

    pub(super) fn requirement(&mut self) -> Result<Requirement> {
        if self.peek() == Some(&Token::Bang) {
            self.pos += 1;
            let key = self.ident("identifier after '!'")?;
            return Requirement::new(&key, Operator::DoesNotExist, vec![]);
        }
        let key = self.ident("identifier")?;
        let op = match self.peek() {
            None | Some(Token::Comma) => return Requirement::new(&key, Operator::Exists, vec![]),
            Some(Token::Eq) => Operator::Equals,
            Some(Token::DoubleEq) => Operator::DoubleEquals,
            Some(Token::NotEq) => Operator::NotEquals,
            Some(Token::In) => Operator::In,
            Some(Token::NotIn) => Operator::NotIn,
            Some(Token::Gt) => Operator::GreaterThan,
            Some(Token::Lt) => Operator::LessThan,
            Some(t) => {
                return Err(SelectorError::Parse(format!(
                    "found '{}', expected: in, notin, =, ==, !=, gt, lt",
                    t.text()
                )));
            }
        };
        self.pos += 1;
        let values = if matches!(op, Operator::In | Operator::NotIn) {
            self.value_set()?
        } else {
            // An empty value (`app=`) is allowed: the next token is ',' or the end.
            match self.peek() {
                None | Some(Token::Comma) => vec![String::new()],
                _ => vec![self.ident("identifier")?],
            }
        };
        Requirement::new(&key, op, values)
    }

    fn value_set(&mut self) -> Result<Vec<String>> {
        match self.next() {
            Some(Token::Open) => {}
            Some(t) => {
                return Err(SelectorError::Parse(format!(
                    "found '{}', expected: '('",
                    t.text()
                )));
            }
            None => return Err(SelectorError::Parse("found '', expected: '('".into())),
        }
        let mut values = Vec::new();
        loop {
            match self.peek() {
                Some(Token::Close) => {
                    self.pos += 1;
                    // `in ()` and a trailing comma give an empty value, as upstream.
                    if values.is_empty() {
                        values.push(String::new());
                    }
                    return Ok(values);
                }
                Some(Token::Comma) => {
                    self.pos += 1;
                    if values.is_empty() {
                        values.push(String::new());
                    }
                    if matches!(self.peek(), Some(Token::Comma) | Some(Token::Close)) {
                        values.push(String::new());
                    }
                }
                _ => values.push(self.ident("',', ')' or identifier")?),
            }
        }
    }
}
